"""Orders in the admin: a compact list (with what needs attention), a read-only page with the
order's fills and events, and the cancel and ask-the-exchange actions (``orders.admin.actions``)."""

from __future__ import annotations

from typing import Any, ClassVar

from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString

from orders.admin.actions import ORDER_ACTIONS
from orders.admin.filters import AttentionFilter
from orders.models import Order, OrderEvent, OrderFill
from tradingcore.admin import display
from tradingcore.admin.confirm import ConfirmedAction, ConfirmedActionsAdmin
from tradingcore.admin.readonly import EventInline, ReadOnlyAdmin, ReadOnlyInline, RowColumns

FILL_FIELDS = ("when", "trade_id", "quantity", "price", "fee", "fee_currency", "liquidity", "realized_pnl")


class OrderFillInline(ReadOnlyInline):
    model = OrderFill
    verbose_name_plural = "fills"
    fields = FILL_FIELDS
    readonly_fields = FILL_FIELDS
    ordering = ["filled_at", "id"]

    @admin.display(description="time")
    def when(self, fill: OrderFill) -> SafeString:
        return display.moment(fill.filled_at)


class OrderEventInline(EventInline):
    model = OrderEvent


@admin.register(Order)
class OrderAdmin(ReadOnlyAdmin, RowColumns, ConfirmedActionsAdmin):
    list_display = ["short", "user", "venue", "symbol", "side", "kind", "qty", "filled", "price_shown", "avg",
                    "status_shown", "position_link", "created"]  # fmt: skip
    list_display_links = ["short"]
    list_filter = ["status", AttentionFilter, "exchange", "side", "order_type", "role", "created_at"]
    search_fields = ["^id", "=exchange_order_id", "=client_order_id", "user_id", "symbol", "^position__id"]
    search_help_text = "order id (or its first characters), exchange or client order id, user id, symbol, position id"
    date_hierarchy = "created_at"
    list_per_page = 50
    list_select_related = ["position"]
    ordering = ["-created_at"]
    inlines = [OrderFillInline, OrderEventInline]
    confirmed_actions: ClassVar[list[ConfirmedAction]] = ORDER_ACTIONS
    change_form_template = "admin/tradingcore/object_with_actions.html"
    fieldsets = [
        ("Order", {"fields": [("id", "status"), ("user_id", "exchange", "symbol"), ("side", "order_type", "role"),
                              ("quantity", "filled_qty", "price", "trigger_price", "avg_fill_price"),
                              ("reduce_only", "post_only", "time_in_force", "position_side", "margin_mode"),
                              ("position", "grid_level", "leverage", "contract_size")]}),
        ("Exchange", {"fields": [("exchange_order_id", "client_order_id"), ("fee", "fee_currency", "other_fees"),
                                 ("maker_fee", "taker_fee", "funding_fee"), ("exchange_misses", "last_error")]}),
        ("History", {"fields": [("created_at", "updated_at", "filled_at"), "reason", "version", "metadata"]}),
    ]  # fmt: skip
    readonly_fields = [field.name for field in Order._meta.fields]

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        order = self.get_object(request, object_id)
        actions = self.offered_actions(request, order) if order is not None else []
        return super().change_view(request, object_id, form_url, {**(extra_context or {}), "tc_actions": actions})

    @admin.display(description="role / type", ordering="role")
    def kind(self, order: Order) -> SafeString:
        if order.order_type == order.role:  # a stop_loss order of role stop_loss
            return format_html("{}", order.role)
        return format_html('{} <small class="tc-flat">{}</small>', order.role, order.order_type)

    @admin.display(description="qty", ordering="quantity")
    def qty(self, order: Order) -> str:
        return display.number(order.quantity)

    @admin.display(description="filled", ordering="filled_qty")
    def filled(self, order: Order) -> str:
        return display.number(order.filled_qty)

    @admin.display(description="price / trigger")
    def price_shown(self, order: Order) -> SafeString:
        if order.trigger_price is not None:
            return format_html('<span title="trigger price">⚑ {}</span>', display.number(order.trigger_price))
        return format_html("{}", display.number(order.price))

    @admin.display(description="avg fill", ordering="avg_fill_price")
    def avg(self, order: Order) -> str:
        return display.number(order.avg_fill_price)

    @admin.display(description="status", ordering="status")
    def status_shown(self, order: Order) -> SafeString:
        error = order.last_error or order.status
        return format_html(
            '<span class="tc-badge tc-badge-order-{}" title="{}">{}</span>', order.status, error, order.status
        )

    @admin.display(description="position")
    def position_link(self, order: Order) -> SafeString:
        if order.position_id is None:
            return format_html("{}", display.EMPTY)
        return display.id_link(reverse("admin:positions_position_change", args=[order.position_id]), order.position_id)

    @admin.display(description="created", ordering="created_at")
    def created(self, order: Order) -> SafeString:
        return display.moment(order.created_at)
