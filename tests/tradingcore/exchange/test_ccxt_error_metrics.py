"""``exchange_errors_total{exchange, error}``: every failed request to a real exchange is counted by
our error code, what the operators alert on (README, "Health and metrics")."""

from __future__ import annotations

import pytest
from prometheus_client import REGISTRY

from tests.tradingcore.exchange.okx_loopback import POSITIONS, OkxLoopback
from tradingcore.exceptions import AuthenticationFailed, ExchangeUnavailable
from tradingcore.exchange.ccxt import CcxtGateway

pytestmark = pytest.mark.django_db


def errors_counted(error: str) -> float:
    return REGISTRY.get_sample_value("exchange_errors_total", {"exchange": "okx", "error": error}) or 0.0


def test_failed_exchange_requests_are_counted_by_error_code(okx: OkxLoopback, gateway: CcxtGateway) -> None:
    unavailable, refused = errors_counted("exchange_unavailable"), errors_counted("authentication_failed")

    okx.fail("GET", POSITIONS, http_status=503)
    with pytest.raises(ExchangeUnavailable):
        gateway.fetch_positions()
    okx.fail("GET", POSITIONS, okx_code="50113", http_status=401)
    with pytest.raises(AuthenticationFailed):
        gateway.fetch_positions()

    assert errors_counted("exchange_unavailable") == unavailable + 1
    assert errors_counted("authentication_failed") == refused + 1
