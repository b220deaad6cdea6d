"""API keys in the admin: created here or by ``create_api_key`` (the key is shown once), revoked
with a confirmation, listed with when they were last used. Only the hash is stored, so nothing
here can show a key again."""

from __future__ import annotations

from typing import Any, ClassVar

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.cache import add_never_cache_headers
from django.utils.html import format_html
from django.utils.safestring import SafeString

from tradingcore.admin import display
from tradingcore.admin.confirm import ConfirmedAction, ConfirmedActionsAdmin, Plan, fingerprint
from tradingcore.api.keys import create_api_key, revoke_api_keys
from tradingcore.exceptions import TradingError
from tradingcore.models import ApiKey

KEY_FIELDS = ("name", "prefix", "user_ids", "all_users", "created_at", "last_used_at", "revoked_at")


class ApiKeyForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="who uses the key; its events read api:<name>")
    user_ids = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="the user ids the key may act for, separated by commas, spaces or lines",
    )
    all_users = forms.BooleanField(required=False, label="Acts for every user")

    def clean_user_ids(self) -> list[str]:
        return [part for part in self.cleaned_data["user_ids"].replace(",", " ").split() if part]


class KeyStateFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("active", "active"), ("revoked", "revoked")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> QuerySet[ApiKey]:
        if self.value() == "active":
            return queryset.filter(revoked_at__isnull=True)
        if self.value() == "revoked":
            return queryset.filter(revoked_at__isnull=False)
        return queryset


class RevokeKeys(ConfirmedAction):
    name = "revoke"
    title = "Revoke"
    permission = "tradingcore.change_apikey"
    help = "A revoked key stops authenticating at once: its bot's next request is refused (401). It cannot be undone."
    confirm_label = "Revoke"

    def applies(self, obj: ApiKey) -> bool:
        return obj.is_active

    def describe(self, obj: ApiKey) -> str:
        return f"API key {obj.name} ({obj.prefix}…)"

    def fingerprint(self, obj: ApiKey) -> str:
        return fingerprint(obj.revoked_at)

    def plan(self, obj: ApiKey, params: dict[str, Any], request: HttpRequest) -> Plan:
        if not obj.is_active:
            return Plan(blocked="already revoked")
        scope = "every user" if obj.all_users else ", ".join(obj.user_ids)
        used = f"last used {obj.last_used_at:%Y-%m-%d %H:%M} UTC" if obj.last_used_at else "never used"
        return Plan(steps=[f"revoke the key acting for {scope} ({used}); requests with it are refused from now on"])

    def run(self, obj: ApiKey, params: dict[str, Any], request: HttpRequest) -> str:
        revoke_api_keys(ids=[obj.pk])
        return "revoked"


@admin.register(ApiKey)
class ApiKeyAdmin(ConfirmedActionsAdmin):
    list_display = ["name", "shown_prefix", "scope", "state", "created", "last_used"]
    list_filter = [KeyStateFilter, "all_users"]
    search_fields = ["name", "prefix"]
    fields = KEY_FIELDS
    readonly_fields = KEY_FIELDS
    confirmed_actions: ClassVar[list[ConfirmedAction]] = [RevokeKeys()]
    change_form_template = "admin/tradingcore/object_with_actions.html"

    class Media:
        css = {"all": ["tradingcore/admin.css"]}

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # a key's scope never changes: revoke it and create another

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # revoked keys stay, so the event log's api:<name> keeps a meaning

    @admin.display(description="prefix", ordering="prefix")
    def shown_prefix(self, key: ApiKey) -> SafeString:
        return format_html('<span class="tc-id">{}…</span>', key.prefix)

    @admin.display(description="acts for")
    def scope(self, key: ApiKey) -> SafeString:
        return (
            format_html("<em>{}</em>", "every user")
            if key.all_users
            else display.short_text(", ".join(key.user_ids), 30)
        )

    @admin.display(description="state", ordering="revoked_at")
    def state(self, key: ApiKey) -> SafeString:
        if key.is_active:
            return format_html('<span class="tc-gain">{}</span>', "active")
        return format_html('<span class="tc-loss">revoked {}</span>', display.moment(key.revoked_at))

    @admin.display(description="created", ordering="created_at")
    def created(self, key: ApiKey) -> SafeString:
        return display.moment(key.created_at)

    @admin.display(description="last used", ordering="last_used_at")
    def last_used(self, key: ApiKey) -> SafeString:
        return display.moment(key.last_used_at) if key.last_used_at else format_html("{}", "never")

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        key = self.get_object(request, object_id)
        actions = self.offered_actions(request, key) if key is not None else []
        return super().change_view(request, object_id, form_url, {**(extra_context or {}), "tc_actions": actions})

    def add_view(
        self, request: HttpRequest, form_url: str = "", extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        """Create a key; the answer shows it once (never stored, never in a message or a redirect)."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = ApiKeyForm(request.POST if request.method == "POST" else None)
        context = {**self.admin_site.each_context(request), "opts": self.opts, "title": "Create an API key"}
        if form.is_bound and form.is_valid():
            data = form.cleaned_data
            try:
                key, raw_key = create_api_key(name=data["name"], user_ids=data["user_ids"], all_users=data["all_users"])
            except TradingError as error:
                form.add_error(None, error.message)
            else:
                self.log_addition(request, key, [{"added": {}}])
                response = TemplateResponse(
                    request, "admin/tradingcore/apikey/created.html", {**context, "key": key, "raw_key": raw_key}
                )
                add_never_cache_headers(response)
                return response
        return TemplateResponse(request, "admin/tradingcore/apikey/add.html", {**context, "form": form})
