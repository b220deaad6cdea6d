"""Recording the leverage a paper user set, in one statement."""

from __future__ import annotations

from django.db import connection
from django.utils import timezone

from tradingcore.enums import Exchange, MarginMode, PositionSide
from tradingcore.models import PaperLeverage

_TABLE = PaperLeverage._meta.db_table

# One round trip, even outside a transaction (an ORM upsert adds BEGIN and COMMIT around it).
# The table name comes from the model and every value is a parameter. The WHERE leaves a row
# that already holds the requested values untouched (its updated_at included).
_UPSERT = f"""
INSERT INTO {_TABLE} (user_id, exchange, symbol, side, leverage, margin_mode, updated_at)
VALUES (%s, %s, %s, %s, %s, %s, %s)
ON CONFLICT (user_id, exchange, symbol, side) DO UPDATE
SET leverage = EXCLUDED.leverage, margin_mode = EXCLUDED.margin_mode, updated_at = EXCLUDED.updated_at
WHERE ({_TABLE}.leverage, {_TABLE}.margin_mode) IS DISTINCT FROM (EXCLUDED.leverage, EXCLUDED.margin_mode)
"""


def store_leverage(
    *,
    user_id: str,
    exchange: Exchange,
    symbol: str,
    side: PositionSide | None,
    leverage: int,
    margin_mode: MarginMode,
) -> None:
    """Insert or update the ``PaperLeverage`` row of one user, market and side (None: both sides).

    ``leverage`` must already be validated (an integer from 1 to 125): the table's check constraint
    refuses anything else with ``IntegrityError``. Writes nothing when the row already holds this
    leverage and margin mode.
    """
    side_value = side.value if side is not None else ""
    with connection.cursor() as cursor:
        cursor.execute(
            _UPSERT, (user_id, exchange.value, symbol, side_value, leverage, margin_mode.value, timezone.now())
        )
