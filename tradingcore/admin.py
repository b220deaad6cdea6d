"""Admin registration of exchange accounts (credentials never shown) and the outbox."""

from django.contrib import admin

from tradingcore.models import ExchangeAccount, OutboxEntry


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
