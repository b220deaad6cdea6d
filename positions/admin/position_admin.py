"""Positions in the admin: a compact list to find any position, a page to understand it at a glance
(summary, chart of fills against the mark, fills, orders and events), and actions through the
managers (``positions.admin.actions``). Nothing here writes a position: every field is read-only.
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString

from orders.models import Order, OrderFill
from positions.admin import chart, overview
from positions.admin.actions import POSITION_ACTIONS
from positions.admin.filters import GridFilter, RealizedOnFilter, StopLossFilter
from positions.models import Position, PositionEvent
from tradingcore import mark_history, pnl
from tradingcore.admin import display
from tradingcore.admin.confirm import ConfirmedAction, ConfirmedActionsAdmin
from tradingcore.admin.readonly import EventInline, ReadOnlyAdmin, ReadOnlyInline, RowColumns
from tradingcore.enums import PositionStatus, ReviewStatus


def roe_of(position: Position) -> Any:
    """Return on margin of an open position at its stored mark (leverage never multiplies PnL)."""
    return pnl.roe_percentage(position.unrealized_pnl, position.entry_price, position.size, position.leverage)


ORDER_FIELDS = ("order", "role", "side", "order_type", "qty", "filled", "price_shown", "avg", "status", "created")


class OrderInline(ReadOnlyInline):
    model = Order
    fk_name = "position"
    verbose_name_plural = "orders"
    fields = ORDER_FIELDS
    readonly_fields = ORDER_FIELDS
    ordering = ["created_at"]

    @admin.display(description="quantity")
    def qty(self, order: Order) -> str:
        return display.number(order.quantity)

    @admin.display(description="filled")
    def filled(self, order: Order) -> str:
        return display.number(order.filled_qty)

    @admin.display(description="price / trigger")
    def price_shown(self, order: Order) -> str:
        if order.trigger_price is not None:
            return f"trigger {display.number(order.trigger_price)}"
        return display.number(order.price)

    @admin.display(description="avg fill")
    def avg(self, order: Order) -> str:
        return display.number(order.avg_fill_price)

    @admin.display(description="order")
    def order(self, order: Order) -> SafeString:
        return display.id_link(reverse("admin:orders_order_change", args=[order.pk]), order.pk)

    @admin.display(description="created")
    def created(self, order: Order) -> SafeString:
        return display.moment(order.created_at)


class PositionEventInline(EventInline):
    model = PositionEvent


@admin.register(Position)
class PositionAdmin(ReadOnlyAdmin, RowColumns, ConfirmedActionsAdmin):
    list_display = ["short", "user", "venue", "market", "side", "size_shown", "entry", "mark", "upnl", "roe",
                    "lev", "status_shown", "review", "opened"]  # fmt: skip
    list_display_links = ["short"]
    list_filter = [
        "status", "exchange", "side", "review_status", GridFilter, StopLossFilter, "created_at", RealizedOnFilter,
    ]  # fmt: skip
    search_fields = ["user_id", "symbol", "^id", "=orders__exchange_order_id", "=orders__client_order_id",
                     "^orders__id"]  # fmt: skip
    search_help_text = "user id, symbol, position id (or its first characters), order id, exchange or client order id"
    date_hierarchy = "created_at"
    list_per_page = 50
    ordering = ["-created_at"]
    inlines = [OrderInline, PositionEventInline]
    confirmed_actions: ClassVar[list[ConfirmedAction]] = POSITION_ACTIONS
    change_form_template = "admin/positions/position/change_form.html"
    change_list_template = "admin/positions/position/change_list.html"
    fieldsets = [
        ("Position", {"fields": [("id", "status"), ("user_id", "exchange", "symbol"), ("side", "grid_level"),
                                 ("size", "entry_price", "current_price", "exit_price"),
                                 ("leverage", "margin_mode", "contract_size", "liquidation_price")]}),
        ("PnL", {"fields": [("realized_pnl", "unrealized_pnl", "fees", "net_pnl", "roe_shown"), "other_fees"]}),
        ("Protection", {"fields": [("stop_loss_price", "take_profit_price")]}),
        ("Review", {"fields": [("review_status", "reviewed_by", "reviewed_at"), "review_note"]}),
        ("History", {"fields": [("created_at", "updated_at", "closed_at"), "close_reason", "version", "metadata"]}),
    ]  # fmt: skip
    readonly_fields = [*(field.name for field in Position._meta.fields), "net_pnl", "roe_shown"]

    def get_urls(self) -> list[Any]:
        view = self.admin_site.admin_view(self.overview_view)
        return [path("overview/", view, name="positions_position_overview"), *super().get_urls()]

    def overview_view(self, request: HttpRequest) -> HttpResponse:
        return overview.render(request, self.admin_site)

    def get_search_results(self, request: HttpRequest, queryset: QuerySet[Position], search_term: str) -> Any:
        return super().get_search_results(request, queryset, search_term.strip())

    # -- the list -------------------------------------------------------------------------------------

    @admin.display(description="symbol", ordering="symbol")
    def market(self, position: Position) -> SafeString:
        if position.grid_level is None:
            return format_html("{}", position.symbol)
        return format_html('{} <small title="grid level">L{}</small>', position.symbol, position.grid_level)

    @admin.display(description="size", ordering="size")
    def size_shown(self, position: Position) -> SafeString:
        if position.status == PositionStatus.OPEN:
            return format_html("{}", display.number(position.size))
        return format_html(
            '<span class="tc-closed" title="{} position: its size when it closed (history, not open)">was {}</span>',
            position.status, display.number(position.size),
        )  # fmt: skip

    @admin.display(description="entry", ordering="entry_price")
    def entry(self, position: Position) -> str:
        return display.number(position.entry_price)

    @admin.display(description="mark / exit", ordering="current_price")
    def mark(self, position: Position) -> SafeString:
        if position.status == PositionStatus.OPEN:
            return format_html("{}", display.number(position.current_price))
        return format_html('<span class="tc-closed" title="exit price">{}</span>', display.number(position.exit_price))

    @admin.display(description="uPnL", ordering="unrealized_pnl")
    def upnl(self, position: Position) -> SafeString:
        if position.status == PositionStatus.OPEN:
            return display.signed(position.unrealized_pnl)
        return format_html(
            '<span title="realized PnL">{} <small>real.</small></span>', display.signed(position.realized_pnl)
        )

    @admin.display(description="ROE")
    def roe(self, position: Position) -> SafeString:
        if position.status != PositionStatus.OPEN:
            return display.signed(None)
        return display.signed(roe_of(position), suffix=" %")

    @admin.display(description="lev.", ordering="leverage")
    def lev(self, position: Position) -> str:
        return f"{position.leverage}x"

    @admin.display(description="status", ordering="status")
    def status_shown(self, position: Position) -> SafeString:
        return format_html('<span class="tc-badge tc-badge-{}">{}</span>', position.status, position.status)

    @admin.display(description="review", ordering="review_status")
    def review(self, position: Position) -> SafeString:
        if position.review_status == ReviewStatus.UNREVIEWED:
            return format_html('<span class="tc-flat" title="not reviewed yet">{}</span>', display.EMPTY)
        title = f"{position.reviewed_by}: {position.review_note}" if position.review_note else position.reviewed_by
        return format_html(
            '<span class="tc-badge tc-badge-{}" title="{}">{}</span>', position.review_status, title,
            position.review_status,
        )  # fmt: skip

    @admin.display(description="opened", ordering="created_at")
    def opened(self, position: Position) -> SafeString:
        return display.moment(position.created_at)

    # -- the page -----------------------------------------------------------------------------------

    @admin.display(description="net PnL")
    def net_pnl(self, position: Position) -> SafeString:
        return display.signed(position.realized_pnl + position.unrealized_pnl - position.fees)

    @admin.display(description="ROE")
    def roe_shown(self, position: Position) -> SafeString:
        return self.roe(position)

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        position = self.get_object(request, object_id)
        context = dict(extra_context or {})
        if position is not None:
            context.update(self._page_context(request, position))
        return super().change_view(request, object_id, form_url, context)

    def _page_context(self, request: HttpRequest, position: Position) -> dict[str, Any]:
        fills = list(
            OrderFill.objects.filter(order__position=position).select_related("order").order_by("filled_at", "id")
        )
        now = timezone.now()
        marks = mark_history.history(position.exchange, position.symbol, position.created_at, position.closed_at or now)
        is_open = position.status == PositionStatus.OPEN
        size = display.number(position.size)
        summary = [
            ("side", f"{position.side} {position.leverage}x"),
            ("size", size if is_open else f"was {size} ({position.status})"),
            ("entry", display.number(position.entry_price)),
            ("mark" if is_open else "exit", display.number(position.current_price if is_open else position.exit_price)),
            ("unrealized", display.signed(position.unrealized_pnl) if is_open else display.signed(None)),
            ("ROE", display.signed(roe_of(position), suffix=" %") if is_open else display.signed(None)),
            ("realized", display.signed(position.realized_pnl)),
            ("fees", display.fixed(position.fees)),
            ("net", self.net_pnl(position)),
            ("stop-loss", display.number(position.stop_loss_price)),
            ("take-profit", display.number(position.take_profit_price)),
            ("review", self.review(position)),
        ]  # fmt: skip
        return {
            "tc_actions": self.offered_actions(request, position),
            "tc_summary": summary,
            "tc_chart": chart.position_chart(position, fills, marks, now),
            "tc_fills": [
                {
                    "time": display.moment(fill.filled_at),
                    "order": display.id_link(reverse("admin:orders_order_change", args=[fill.order_id]), fill.order_id),
                    "role": fill.order.role,
                    "side": fill.order.side,
                    "quantity": display.number(fill.quantity),
                    "price": display.number(fill.price),
                    "fee": f"{display.number(fill.fee)} {fill.fee_currency}",
                    "liquidity": fill.liquidity,
                    "realized": display.signed(fill.realized_pnl) if fill.realized_pnl else "",
                    "trade_id": fill.trade_id,
                }
                for fill in fills
            ],
        }
