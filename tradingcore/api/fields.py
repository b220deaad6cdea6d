"""Request fields whose rule is the one in ``tradingcore.validation`` (one definition of each limit).

Each field documents its type in the schema and, on input, runs the rule and turns its
``InvalidInput`` into a field error (DRF names the field). Decimals are accepted as strings or
numbers; NaN, infinities, zero or negative amounts and more digits than numeric(20,8) are refused.
``StrictSerializer`` refuses fields it does not declare.
"""

from __future__ import annotations

import decimal
from collections.abc import Callable, Mapping
from operator import attrgetter
from typing import Any, ClassVar

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.fields import Field, SkipField
from rest_framework.settings import api_settings

from tradingcore import validation
from tradingcore.decimals import MAX_DIGITS, PLACES
from tradingcore.enums import DomainChoices
from tradingcore.exceptions import InvalidInput

AMOUNT_PATTERN = rf"^[0-9]{{1,{MAX_DIGITS - PLACES}}}(\.[0-9]{{1,{PLACES}}})?$"
AMOUNT_SCHEMA = {
    "type": "string",
    "format": "decimal",
    "pattern": AMOUNT_PATTERN,
    "example": "0.1",
    "description": f"positive decimal, at most {PLACES} places (a JSON number is accepted too)",
}


def run_rule(rule: Callable[[Any], Any], data: Any) -> Any:
    try:
        return rule(data)
    except InvalidInput as exc:
        messages = [message for problems in exc.details.values() for message in problems] or [exc.message]
        raise serializers.ValidationError(messages) from None


@extend_schema_field(AMOUNT_SCHEMA)
class AmountField(serializers.DecimalField):
    """A positive amount fitting numeric(20,8): a size, a quantity or a price."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(max_digits=MAX_DIGITS, decimal_places=PLACES, **kwargs)

    def to_internal_value(self, data: Any) -> Any:
        return run_rule(lambda value: validation.size(value, field=self.field_name or "value"), data)


class EnumField(serializers.ChoiceField):
    """One of a domain enum's values, any case; the member on input, its value on output."""

    def __init__(self, enum: type[DomainChoices], **kwargs: Any) -> None:
        self.enum = enum
        super().__init__(choices=enum.choices, **kwargs)

    def to_internal_value(self, data: Any) -> Any:
        return run_rule(lambda value: self.enum.parse(value, field=self.field_name), data)

    def to_representation(self, value: Any) -> Any:
        return self.enum.parse(value).value


class UserIdField(serializers.CharField):
    """1 to 64 characters; an integer is taken as its text (12.5 is refused)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(max_length=validation.MAX_USER_ID_LENGTH, **kwargs)

    def to_internal_value(self, data: Any) -> Any:
        return run_rule(validation.user_id, data)


class SymbolField(serializers.CharField):
    """An instrument: native id (``BTC-USDT-SWAP``) or ccxt form (``BTC/USDT:USDT``), at most 32 characters."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(max_length=validation.MAX_SYMBOL_LENGTH, **kwargs)

    def to_internal_value(self, data: Any) -> Any:
        if not isinstance(data, str):
            raise serializers.ValidationError(["a string is required"])
        return run_rule(validation.symbol, data)


class LeverageField(serializers.IntegerField):
    """A whole number from 1 to 125 (``"10"`` and ``10.0`` are 10)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(min_value=validation.MIN_LEVERAGE, max_value=validation.MAX_LEVERAGE, **kwargs)

    def to_internal_value(self, data: Any) -> Any:
        return run_rule(validation.leverage, data)


class GridLevelField(serializers.IntegerField):
    """A grid level from 0 to 100, or null for a position outside any grid."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(min_value=validation.MIN_GRID_LEVEL, max_value=validation.MAX_GRID_LEVEL, **kwargs)

    def to_internal_value(self, data: Any) -> Any:
        return run_rule(validation.grid_level, data)


class ClientOrderIdField(serializers.RegexField):
    """1 to 32 letters and digits (what OKX accepts as ``clOrdId``); the order's idempotency key."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(validation.CLIENT_ORDER_ID_PATTERN, max_length=validation.CLIENT_ORDER_ID_LENGTH, **kwargs)

    def to_internal_value(self, data: Any) -> Any:
        return run_rule(validation.client_order_id, data)


class MetadataField(serializers.DictField):
    """A JSON object kept with the position or order (numbers in it are kept as decimals): at most
    8 KiB as JSON and 32 levels deep, finite numbers, none of the keys the system maintains."""

    def to_internal_value(self, data: Any) -> Any:
        return run_rule(validation.caller_metadata, data)


class TextField(serializers.CharField):
    """Text sent as a JSON string (DRF's ``CharField`` would take ``123`` as ``"123"``)."""

    def to_internal_value(self, data: Any) -> Any:
        if not isinstance(data, str):
            raise serializers.ValidationError(["a string is required"])
        return super().to_internal_value(data)


class StrictSerializer(serializers.Serializer):
    """A request serializer that refuses fields it does not declare (400 naming each)."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, Mapping):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError({name: ["unknown field"] for name in unknown})
        return super().to_internal_value(data)


QUANTUM = decimal.Decimal(1).scaleb(-PLACES)


class DecimalOutputField(serializers.DecimalField):
    """A read-only decimal written as a string with 8 places, of any magnitude (a notional, a
    percentage); a negative zero (a short's PnL at its entry) is written as zero."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(max_digits=None, decimal_places=PLACES, read_only=True, **kwargs)

    def to_representation(self, value: Any) -> Any:
        value = abs(value) if value == 0 else value
        if not self.plain_string or not isinstance(value, decimal.Decimal):
            return super().to_representation(value)
        # DRF's own steps (quantize in the current context, then "{:f}") without copying the
        # context for every value: a page of positions writes hundreds of these.
        return format(value.quantize(QUANTUM, rounding=self.rounding), "f")

    @property
    def plain_string(self) -> bool:
        """Written as DRF writes it by default: a string, neither localized nor normalized."""
        coerce = getattr(self, "coerce_to_string", api_settings.COERCE_DECIMAL_TO_STRING)
        return bool(coerce) and not self.localize and not self.normalize_output


decimal_output = DecimalOutputField


class OutputSerializer(serializers.Serializer):
    """A response serializer whose fields are bound once per class instead of once per use.

    DRF deep-copies a serializer's declared fields for every instance and reads each attribute
    through ``Field.get_attribute``; for a page of positions that was most of a listing's CPU. The
    output is the same: each field's own ``to_representation`` writes its value, ``None`` stays
    ``None``, and an attribute that is missing or a method falls back to DRF's own lookup. Only for
    read-only serializers of plain objects (the managers' DTOs) that use no context.
    """

    _bound: ClassVar[list[tuple[str, Callable[[Any], Any], Field]]]

    def to_representation(self, instance: Any) -> dict[str, Any]:
        represented = {}
        for name, fetch, field in self._bound_fields():
            try:
                attribute = fetch(instance)
                if callable(attribute):
                    raise AttributeError(name)
            except (AttributeError, KeyError, TypeError):
                try:
                    attribute = field.get_attribute(instance)
                except SkipField:
                    continue
            represented[name] = None if attribute is None else field.to_representation(attribute)
        return represented

    @classmethod
    def _bound_fields(cls) -> list[tuple[str, Callable[[Any], Any], Field]]:
        bound = cls.__dict__.get("_bound")
        if bound is None:
            fields = cls().fields.values()
            # source is the field's name or its declared source once bound
            bound = [(field.field_name, _fetcher(str(field.source)), field) for field in fields if not field.write_only]
            cls._bound = bound
        return bound


def _fetcher(source: str) -> Callable[[Any], Any]:
    return (lambda instance: instance) if source == "*" else attrgetter(source)
