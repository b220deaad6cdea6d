"""Shapes of the HYPERRSI compatibility routes (SPEC 7), exactly as the old bots send and read them.

Sizes are in contracts of the OKX instrument (``contracts_to_base`` / ``base_to_contracts``);
the side is ``direction``; ``take_profit`` is a list; numbers are JSON numbers (written from the
decimals as they are, never through float, by ``DecimalNumberRenderer``). The open request refuses
fields the old request model did not declare, as the v1 routes do (a misspelt ``stop_los`` must not
open an unprotected position); ``order_concept``, which it declared, is accepted and not used.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

import simplejson
from rest_framework import renderers, serializers

from tradingcore import dto
from tradingcore.api.fields import AmountField, EnumField, LeverageField, StrictSerializer, SymbolField, UserIdField
from tradingcore.decimals import PLACES, plain, quantize
from tradingcore.enums import Exchange, PositionSide
from tradingcore.exceptions import BadSymbol
from tradingcore.exchange import get_gateway
from tradingcore.exchange.instruments import get_market

EXCHANGE = Exchange.OKX  # the HYPERRSI bots trade on OKX only
DEFAULT_LEVERAGE = 10


class DecimalNumberRenderer(renderers.JSONRenderer):
    """JSON with decimals as exact JSON numbers (the old API answered numbers, not strings)."""

    def render(self, data: Any, accepted_media_type: str | None = None, renderer_context: Any = None) -> bytes:
        if data is None:
            return b""
        return simplejson.dumps(data, use_decimal=True, default=str, separators=(",", ":")).encode()


class NumberField(serializers.DecimalField):
    """A read-only decimal answered as a JSON number in plain notation (``0``, ``0.01``, ``45000``)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(max_digits=None, decimal_places=PLACES, coerce_to_string=False, read_only=True, **kwargs)

    def to_representation(self, value: Any) -> Any:
        return Decimal(plain(quantize(Decimal(value))))


number = NumberField


def contract_size(user_id: str, symbol: str) -> Decimal:
    """Base units per contract of ``symbol`` on OKX (from the exchange's market list)."""
    return get_gateway(user_id, EXCHANGE).market(symbol).contract_size


def contracts_to_base(contracts: Decimal | None, size_of_contract: Decimal) -> Decimal | None:
    return None if contracts is None else quantize(contracts * size_of_contract)


def base_to_contracts(position: dto.Position) -> Decimal:
    return quantize(position.size / (position.contract_size or Decimal(1)))


def unified_symbol(symbol: str) -> str:
    try:
        return get_market(EXCHANGE, symbol).unified_symbol
    except BadSymbol:
        return symbol


class HyperrsiOpenSerializer(StrictSerializer):
    """``POST /position/open``."""

    user_id = UserIdField(help_text="a string or an integer")
    symbol = SymbolField()
    direction = EnumField(PositionSide)
    size = AmountField(help_text="contracts")
    leverage = LeverageField(required=False, default=DEFAULT_LEVERAGE)
    stop_loss = AmountField(required=False, allow_null=True)
    take_profit = serializers.ListField(child=AmountField(), required=False, allow_null=True, allow_empty=True)
    is_DCA = serializers.BooleanField(required=False, default=False)
    is_hedge = serializers.BooleanField(required=False, default=False)
    hedge_tp_price = AmountField(required=False, allow_null=True)
    hedge_sl_price = AmountField(required=False, allow_null=True)
    order_concept = serializers.CharField(
        required=False, allow_blank=True, allow_null=True, help_text="accepted as the old API did; not used"
    )


class HyperrsiCloseSerializer(StrictSerializer):
    """``POST /position/close``: without ``size`` (contracts) the whole position. The old request's
    ``percent`` is accepted only as 100 (the whole position): any other share is refused rather than
    read as a full close."""

    user_id = UserIdField(help_text="a string or a number")
    symbol = SymbolField()
    side = EnumField(PositionSide)
    size = AmountField(required=False, allow_null=True, help_text="contracts")
    percent = AmountField(required=False, allow_null=True, help_text="only 100; send size for a partial close")
    comment = serializers.CharField(required=False, allow_blank=True, allow_null=True, max_length=255)

    def validate_percent(self, value: Any) -> Any:
        if value is not None and value != 100:
            raise serializers.ValidationError("only 100 (the whole position); send size in contracts for a part")
        return value


def open_keywords(data: dict[str, Any]) -> dict[str, Any]:
    """The ``open_position`` keywords of an old open request (sizes converted to base currency)."""
    levels = data.get("take_profit") or []
    metadata = {name: data.get(name) for name in ("is_DCA", "is_hedge", "hedge_tp_price", "hedge_sl_price")}
    if levels:
        metadata["tp_prices"] = [str(level) for level in levels]
    return {
        "user_id": data["user_id"], "exchange": EXCHANGE, "symbol": data["symbol"], "side": data["direction"],
        "size": contracts_to_base(data["size"], contract_size(data["user_id"], data["symbol"])),
        "leverage": data["leverage"], "stop_loss_price": data.get("stop_loss"),
        "take_profit_price": levels[0] if levels else None, "metadata": metadata,
    }  # fmt: skip


def close_keywords(data: dict[str, Any]) -> dict[str, Any]:
    """The ``close_position`` keywords of an old close request (by user, symbol and side)."""
    size = data.get("size")
    base = None if size is None else contracts_to_base(size, contract_size(data["user_id"], data["symbol"]))
    return {"user_id": data["user_id"], "exchange": EXCHANGE, "symbol": data["symbol"], "side": data["side"],
            "size": base, "reason": data.get("comment") or ""}  # fmt: skip


class HyperrsiPositionSerializer(serializers.Serializer):
    """The old ``PositionResponse``: ``size`` in contracts."""

    symbol = serializers.CharField(read_only=True)
    side = EnumField(PositionSide, read_only=True)
    size = number(source="contracts")
    entry_price = number()
    leverage = serializers.IntegerField(read_only=True)
    sl_price = number(allow_null=True, source="stop_loss_price")
    tp_prices = serializers.ListField(child=number(), allow_null=True, read_only=True)
    order_id = serializers.CharField(allow_null=True, read_only=True)
    last_filled_price = number(source="entry_price")


def position_response(position: dto.Position) -> dict[str, Any]:
    """What ``HyperrsiPositionSerializer`` reads for an opened position."""
    levels = position.metadata.get("tp_prices") or ([position.take_profit_price] if position.take_profit_price else [])
    return {
        "symbol": position.symbol, "side": position.side, "contracts": base_to_contracts(position),
        "entry_price": position.entry_price, "leverage": position.leverage,
        "stop_loss_price": position.stop_loss_price, "tp_prices": [Decimal(level) for level in levels] or None,
        "order_id": position.metadata.get("entry_order_id") or position.metadata.get("pending_entry_order_id"),
    }  # fmt: skip


class CcxtPositionSerializer(serializers.Serializer):
    """ccxt's unified position shape (``fetch_positions``), numbers as JSON numbers."""

    id = serializers.CharField(read_only=True)
    symbol = serializers.CharField(read_only=True, help_text="ccxt unified symbol, e.g. BTC/USDT:USDT")
    timestamp = serializers.IntegerField(read_only=True, help_text="epoch milliseconds of the last change")
    datetime = serializers.CharField(read_only=True)
    side = EnumField(PositionSide, read_only=True)
    contracts = number()
    contractSize = number()  # noqa: N815 - ccxt's name
    entryPrice = number()  # noqa: N815
    markPrice = number(allow_null=True)  # noqa: N815
    notional = number()
    leverage = serializers.IntegerField(read_only=True)
    unrealizedPnl = number()  # noqa: N815
    realizedPnl = number()  # noqa: N815
    liquidationPrice = number(allow_null=True)  # noqa: N815
    marginMode = serializers.CharField(read_only=True)  # noqa: N815
    hedged = serializers.BooleanField(read_only=True)
    percentage = number()
    stopLossPrice = number(allow_null=True)  # noqa: N815
    takeProfitPrice = number(allow_null=True)  # noqa: N815
    info = serializers.DictField(read_only=True)


def ccxt_position(position: dto.Position) -> dict[str, Any]:
    """What ``CcxtPositionSerializer`` reads for one open position."""
    return {
        "id": str(position.id), "symbol": unified_symbol(position.symbol),
        "timestamp": int(position.updated_at.timestamp() * 1000), "datetime": _iso(position.updated_at),
        "side": position.side, "contracts": base_to_contracts(position),
        "contractSize": position.contract_size or Decimal(1), "entryPrice": position.entry_price,
        "markPrice": position.current_price, "notional": position.notional_value, "leverage": position.leverage,
        "unrealizedPnl": position.pnl_info.unrealized_pnl, "realizedPnl": position.pnl_info.realized_pnl,
        "liquidationPrice": position.liquidation_price, "marginMode": position.margin_mode.value, "hedged": True,
        "percentage": position.pnl_info.roe_percentage, "stopLossPrice": position.stop_loss_price,
        "takeProfitPrice": position.take_profit_price,
        "info": {"instId": position.symbol, "posSide": position.side.value, "grid_level": position.grid_level},
    }  # fmt: skip


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


class HyperrsiPositionsSerializer(serializers.Serializer):
    """The old ``GET /position/{user_id}`` answer."""

    timestamp = serializers.CharField(read_only=True)
    logger = serializers.CharField(read_only=True)
    message = serializers.CharField(read_only=True)
    data = CcxtPositionSerializer(many=True, read_only=True)  # type: ignore[assignment]
    position_qty = serializers.IntegerField(read_only=True)


class HyperrsiCloseResultSerializer(serializers.Serializer):
    success = serializers.BooleanField(read_only=True)
    message = serializers.CharField(read_only=True)


class HyperrsiSymbolQuerySerializer(serializers.Serializer):
    symbol = SymbolField(required=False, help_text="only this instrument")
