"""Filters shared by the apps' FilterSets: the market of a row (user, exchange, symbol)."""

from __future__ import annotations

from typing import Any

import django_filters
from django import forms
from django.db.models import QuerySet

from tradingcore.enums import Exchange
from tradingcore.exchange import instruments
from tradingcore.validation import MAX_SYMBOL_LENGTH, MAX_USER_ID_LENGTH


class IntegerFilter(django_filters.NumberFilter):
    """A whole number (``1.5`` is refused, not rounded)."""

    field_class = forms.IntegerField


class MarketFilterSet(django_filters.FilterSet):
    """``user_id``, ``exchange`` and ``symbol`` (native id or ccxt form) of positions and orders.

    The form class is built once per FilterSet class (django-filter builds a new one for every
    request): the filters here are static, they depend on no request or queryset."""

    def get_form_class(self) -> type[forms.Form]:
        cls = type(self)
        form_class = cls.__dict__.get("_form_class")
        if form_class is None:
            form_class = super().get_form_class()
            cls._form_class = form_class  # type: ignore[attr-defined]
        return form_class

    user_id = django_filters.CharFilter(max_length=MAX_USER_ID_LENGTH)
    exchange = django_filters.ChoiceFilter(choices=Exchange.choices)
    symbol = django_filters.CharFilter(method="filter_symbol", max_length=MAX_SYMBOL_LENGTH)

    def filter_symbol(self, queryset: QuerySet[Any], name: str, value: str) -> QuerySet[Any]:
        """The native id as stored; a ccxt form (``BTC/USDT:USDT``) means each exchange's own id
        for it when no ``exchange`` is given."""
        exchange = self.form.cleaned_data.get("exchange") or None
        if exchange is not None:
            return queryset.filter(symbol=instruments.native_symbol(exchange, value))
        natives = {instruments.native_symbol(each, value) for each in Exchange}
        return queryset.filter(symbol__in=sorted(natives | {value.strip().upper()}))
