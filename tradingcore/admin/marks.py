"""Paper marks in the admin: set from the list or a form, through ``paper.set_mark``.

Setting a mark moves the simulated market: triggers it crosses fire and resting limits fill, as
with ``manage.py set_paper_price``; the page says which orders filled. Only simulated exchanges
(``paper``, and every exchange in dry-run) take a mark; marks are never deleted (the row is also
the lock of the market's book).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest

from tradingcore.admin import display
from tradingcore.decimals import plain
from tradingcore.exceptions import TradingError
from tradingcore.exchange import paper
from tradingcore.exchange.instruments import get_market
from tradingcore.exchange.registry import is_simulated
from tradingcore.models import PaperMark


class PaperMarkPriceForm(forms.ModelForm):
    """A mark's price, from the list (``list_editable``) or the form: required and positive."""

    class Meta:
        model = PaperMark
        fields = ["price"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if "price" in self.fields:  # not when the page is read-only (no change permission)
            self.fields["price"].required = True

    def clean_price(self) -> Decimal:
        price = self.cleaned_data["price"]
        if price <= 0:
            raise ValidationError("a mark must be a positive number")
        return price


class PaperMarkForm(PaperMarkPriceForm):
    class Meta:
        model = PaperMark
        fields = ["exchange", "symbol", "price"]
        help_texts = {
            "symbol": "native id (BTC-USDT-SWAP) or ccxt form (BTC/USDT:USDT)",
            "price": "the new mark; crossed triggers fire and crossed limits fill at once",
        }

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        exchange = data.get("exchange") or self.instance.exchange
        symbol = data.get("symbol") or self.instance.symbol
        if not exchange or not symbol:
            return data
        if not is_simulated(exchange):
            raise ValidationError(f"{exchange} trades for real (TRADING_DRY_RUN is off): its marks come from it")
        try:
            market = get_market(exchange, symbol)
        except TradingError as error:
            raise ValidationError({"symbol": error.message}) from error
        if "symbol" in data:
            data["symbol"] = market.symbol
        if self.instance.pk is None and PaperMark.objects.filter(exchange=exchange, symbol=market.symbol).exists():
            raise ValidationError({"symbol": "this market has a mark already: change it in the list"})
        return data


@admin.register(PaperMark)
class PaperMarkAdmin(admin.ModelAdmin):
    form = PaperMarkForm
    list_display = ["market", "exchange", "symbol", "price", "updated"]
    list_display_links = ["market"]
    list_editable = ["price"]
    list_filter = ["exchange"]
    search_fields = ["symbol"]
    ordering = ["exchange", "symbol"]

    class Media:
        css = {"all": ["tradingcore/admin.css"]}

    def get_changelist_form(self, request: HttpRequest, **kwargs: Any) -> type[forms.ModelForm]:
        return PaperMarkPriceForm

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return ["exchange", "symbol", "updated_at"] if obj is not None else []

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="market")
    def market(self, mark: PaperMark) -> str:
        return f"{mark.exchange} {mark.symbol}"

    @admin.display(description="updated", ordering="updated_at")
    def updated(self, mark: PaperMark) -> Any:
        return display.moment(mark.updated_at)

    def save_model(self, request: HttpRequest, obj: PaperMark, form: Any, change: bool) -> None:
        assert obj.price is not None  # the form requires it
        trades = paper.set_mark(obj.exchange, obj.symbol, obj.price)
        obj.pk = PaperMark.objects.get(exchange=obj.exchange, symbol=obj.symbol).pk
        obj.refresh_from_db()
        filled = "; ".join(
            f"{trade.order.side.value} {plain(trade.fill.quantity)} @ {plain(trade.fill.price)} "
            f"for {trade.user_id} ({trade.order.status.value})"
            for trade in trades
        )
        text = f"{obj.exchange} {obj.symbol} mark set to {plain(obj.price)}: "
        self.message_user(request, text + (f"filled {filled}" if trades else "no orders filled"), messages.SUCCESS)
