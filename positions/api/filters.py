"""The filters of ``GET /api/v1/positions/``: the ``get_positions`` keywords."""

from __future__ import annotations

from typing import Any

import django_filters

from positions.models import Position
from tradingcore.api.filters import IntegerFilter, MarketFilterSet
from tradingcore.enums import PositionSide, PositionStatus
from tradingcore.validation import MAX_GRID_LEVEL, MIN_GRID_LEVEL


class PositionFilterSet(MarketFilterSet):
    """Positions by user, exchange, symbol, side, status and grid level (every status by default)."""

    side = django_filters.ChoiceFilter(choices=PositionSide.choices)
    status = django_filters.ChoiceFilter(choices=PositionStatus.choices)
    grid_level = IntegerFilter(min_value=MIN_GRID_LEVEL, max_value=MAX_GRID_LEVEL)

    class Meta:
        model = Position
        fields = ["user_id", "exchange", "symbol", "side", "status", "grid_level"]

    def projection_question(self) -> dict[str, Any] | None:
        """The ``get_positions`` keywords when the Redis projection can answer (one user's open
        positions on one exchange), else None."""
        data = self.form.cleaned_data
        if not data.get("user_id") or not data.get("exchange") or data.get("status") != PositionStatus.OPEN:
            return None
        level = data.get("grid_level")  # None when not asked
        return {
            "user_id": data["user_id"], "exchange": data["exchange"], "symbol": data.get("symbol") or None,
            "side": data.get("side") or None, "grid_level": level,
            "status": PositionStatus.OPEN,
        }  # fmt: skip
