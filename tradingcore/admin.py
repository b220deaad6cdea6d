"""Admin registration of exchange accounts (credentials never shown), the outbox and API keys."""

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.utils import timezone

from tradingcore.models import ApiKey, ExchangeAccount, OutboxEntry


@admin.register(ExchangeAccount)
class ExchangeAccountAdmin(admin.ModelAdmin):
    # The encrypted fields are not editable, so no form ever renders them.
    list_display = ["user_id", "exchange", "label", "sandbox", "position_mode", "is_active"]
    list_filter = ["exchange", "sandbox", "is_active"]
    search_fields = ["user_id", "label"]
    fields = ["user_id", "exchange", "label", "sandbox", "position_mode", "margin_mode", "rest_base_url", "is_active"]


@admin.register(OutboxEntry)
class OutboxEntryAdmin(admin.ModelAdmin):
    list_display = ["id", "kind", "object_id", "user_id", "event", "attempts", "created_at"]
    list_filter = ["kind"]
    readonly_fields = [f.name for f in OutboxEntry._meta.fields]


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    """Keys are created by ``manage.py create_api_key`` (the key is shown once, there); here they
    are listed and revoked. Only the hash is stored, so nothing here can reveal a key."""

    list_display = ["name", "prefix", "user_ids", "all_users", "created_at", "last_used_at", "revoked_at"]
    list_filter = ["all_users", "revoked_at"]
    search_fields = ["name", "prefix"]
    fields = ("name", "prefix", "user_ids", "all_users", "created_at", "last_used_at", "revoked_at")
    readonly_fields = fields
    actions = ["revoke"]

    def has_add_permission(self, request: Any) -> bool:
        return False

    @admin.action(description="Revoke the selected API keys")
    def revoke(self, request: Any, queryset: QuerySet[ApiKey]) -> None:
        count = queryset.filter(revoked_at=None).update(revoked_at=timezone.now())
        self.message_user(request, f"{count} API key(s) revoked.", messages.SUCCESS)
