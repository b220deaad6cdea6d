"""The projection outbox in the admin: internal, so read-only (no add, change or delete)."""

from __future__ import annotations

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString

from tradingcore.admin import display
from tradingcore.admin.readonly import ReadOnlyAdmin
from tradingcore.models import OutboxEntry


@admin.register(OutboxEntry)
class OutboxEntryAdmin(ReadOnlyAdmin, admin.ModelAdmin):
    """Rows waiting for Redis. They come and go with commits and the watcher's drain; a deep or old
    outbox means Redis is unreachable (see ``/healthz`` and ``drain_outbox``)."""

    list_display = ["id", "kind", "entity", "user_id", "event", "attempts", "created", "error"]
    list_filter = ["kind"]
    search_fields = ["=object_id", "user_id"]
    readonly_fields = ["kind", "object_id", "user_id", "event", "payload", "attempts", "last_error", "created_at"]
    list_per_page = 100

    @admin.display(description="entity")
    def entity(self, entry: OutboxEntry) -> SafeString:
        model = "position" if entry.kind == OutboxEntry.Kind.POSITION else "order"
        app = "positions" if model == "position" else "orders"
        return display.id_link(reverse(f"admin:{app}_{model}_change", args=[entry.object_id]), entry.object_id)

    @admin.display(description="created", ordering="created_at")
    def created(self, entry: OutboxEntry) -> SafeString:
        return display.moment(entry.created_at)

    @admin.display(description="last error")
    def error(self, entry: OutboxEntry) -> SafeString:
        return display.short_text(entry.last_error, 40) if entry.last_error else format_html("{}", display.EMPTY)
