"""Moving paper marks: set_mark's validation, the deterministic random walk and its demo driver."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import transaction

from tradingcore.exceptions import BadSymbol, InvalidInput
from tradingcore.exchange.paper import PaperMarkMissing, advance_random_walk, get_mark, random_walk, set_mark
from tradingcore.models import PaperMark

pytestmark = pytest.mark.django_db
D = Decimal
BTC = "BTC-USDT-SWAP"


def walk_in_a_rolled_back_savepoint(seed: int) -> list[Decimal]:
    with transaction.atomic():
        set_mark("paper", BTC, D("50000"))
        marks = random_walk("paper", BTC, 20, seed, 25)
        transaction.set_rollback(True)
    return marks


def test_random_walk_is_the_same_for_the_same_seed_and_stays_on_the_price_grid() -> None:
    first = walk_in_a_rolled_back_savepoint(7)
    again = walk_in_a_rolled_back_savepoint(7)
    other = walk_in_a_rolled_back_savepoint(8)

    assert first == again
    assert first != other
    assert all(mark % D("0.1") == 0 for mark in first)
    assert all(abs(b / a - 1) <= D("0.0026") for a, b in zip([D("50000"), *first], first, strict=False))


def test_random_walk_leaves_the_last_step_as_the_mark() -> None:
    set_mark("paper", BTC, D("50000"))

    marks = random_walk("paper", BTC, 5, 1)

    assert get_mark("paper", BTC) == marks[-1]


def test_random_walk_needs_a_mark_to_start_from() -> None:
    with pytest.raises(PaperMarkMissing):
        random_walk("paper", BTC, 3, 1)


def test_advance_random_walk_moves_every_mark_one_step_deterministically() -> None:
    set_mark("paper", BTC, D("50000"))
    set_mark("okx", "ETH/USDT:USDT", D("3000"))
    PaperMark.objects.create(exchange="okx", symbol="SOL-USDT-SWAP")  # no price yet: left alone

    with transaction.atomic():
        advance_random_walk()
        stepped = dict(PaperMark.objects.values_list("symbol", "price"))
        transaction.set_rollback(True)
    advance_random_walk()

    assert dict(PaperMark.objects.values_list("symbol", "price")) == stepped
    assert stepped["SOL-USDT-SWAP"] is None


@pytest.mark.parametrize(
    ("price", "volume", "error", "message"),
    [
        ("0", None, InvalidInput, "greater than zero"),
        ("-1", None, InvalidInput, "greater than zero"),
        ("1.123456789", None, InvalidInput, "decimal places"),
        ("abc", None, InvalidInput, "not a number"),
        ("100", "-0.01", InvalidInput, "volume"),
    ],
)
def test_set_mark_refuses_bad_prices_and_volumes(price: str, volume: str | None, error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        set_mark("paper", BTC, price, volume=volume)

    assert not PaperMark.objects.exists()


def test_set_mark_refuses_an_unlisted_symbol() -> None:
    with pytest.raises(BadSymbol):
        set_mark("paper", "BTCUSDT", D("1"))
