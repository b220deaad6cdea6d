"""The record of ``verify_redis`` runs in the admin (read-only; the overview shows the latest)."""

from __future__ import annotations

from django.contrib import admin
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from tradingcore.admin import display
from tradingcore.admin.readonly import ReadOnlyAdmin
from tradingcore.models import VerificationRun

RUN_FIELDS = (
    "started_at", "finished_at", "outcome", "fix", "user_ids", "users", "keys_checked", "differences",
    "legacy_checked", "legacy_mismatches", "message", "found",
)  # fmt: skip


@admin.register(VerificationRun)
class VerificationRunAdmin(ReadOnlyAdmin, admin.ModelAdmin):
    list_display = ["started", "result", "fix", "users", "keys_checked", "differences", "legacy_mismatches"]
    list_filter = ["outcome", "fix"]
    date_hierarchy = "started_at"
    fields = RUN_FIELDS
    readonly_fields = RUN_FIELDS

    @admin.display(description="started", ordering="started_at")
    def started(self, run: VerificationRun) -> SafeString:
        return display.moment(run.started_at)

    @admin.display(description="outcome", ordering="outcome")
    def result(self, run: VerificationRun) -> SafeString:
        css = "tc-gain" if run.is_clean else "tc-loss"
        return format_html('<span class="{}">{}</span>', css, run.get_outcome_display())

    @admin.display(description="differences found (the first 100)")
    def found(self, run: VerificationRun) -> SafeString:
        if not run.lines:
            return format_html("{}", "none")
        return format_html("<pre>{}</pre>", format_html_join("\n", "{}", ((line,) for line in run.lines)))
