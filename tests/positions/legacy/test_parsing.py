"""The legacy parsers (property-based): they never fail on junk, and read back exactly what the legacy
encoders write (ours for the dual-write, the bots' for the import)."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from positions.legacy import parsing
from positions.legacy.parsing import Invalid, Skip
from tradingcore.decimals import in_range
from tradingcore.dto import Order, Position
from tradingcore.enums import Exchange, OrderSide, OrderStatus, OrderType, PositionSide
from tradingcore.exchange import instruments
from tradingcore.redis import codec, keys

D = Decimal
OKX_MARKETS = instruments.markets(Exchange.OKX)

lots = st.integers(min_value=1, max_value=10**6)
prices = st.decimals(min_value=D("0.00000001"), max_value=D("9999999.99999999"), places=8)
leverages = st.integers(min_value=1, max_value=125)
markets = st.sampled_from(OKX_MARKETS)
sides = st.sampled_from(["long", "short"])
user_ids = st.text(st.characters(blacklist_characters=":*?[]\\", blacklist_categories=("Cs", "Cc")), min_size=1,
                   max_size=20).filter(lambda text: text.strip() == text and text)  # fmt: skip
junk = st.one_of(
    st.none(), st.text(max_size=30), st.integers(), st.booleans(), st.sampled_from(["None", "null", "", "0.0", "NaN",
    "inf", "1e400", "-5", "12.0", "[1, 2]", '"3.5"'])
)  # fmt: skip
T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def attempt(function: Any, *args: Any) -> tuple[Any, str]:
    """(what ``function`` returned, "") or (None, the reason it refused the record)."""
    try:
        return function(*args), ""
    except Invalid as problem:  # Skip is an Invalid too: both are reported, neither is fatal
        return None, problem.reason


# -- values ------------------------------------------------------------------------------------------------


@given(value=junk)
def test_number_never_fails_with_anything_but_invalid(value: Any) -> None:
    result, reason = attempt(parsing.number, value, "field")

    assert reason in ("", "bad_number")
    assert result is None or result.is_finite()


@given(value=st.decimals(allow_nan=False, allow_infinity=False, places=8, min_value=-(10**12), max_value=10**12))
def test_numbers_read_back_whatever_the_spelling(value: Decimal) -> None:
    for text in (codec.float_text(value), json.dumps(str(value)), str(value)):
        assert parsing.number(text, "field") == value


PLAIN_NOTATION = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?")


@given(text=st.one_of(st.text(max_size=12), st.text(alphabet=' "0123456789.eE+-_nNaIifuloy\t', max_size=12)))
def test_number_reads_text_as_stripping_quotes_and_spaces_would(text: str) -> None:
    # number() hands plain text to Decimal first; the result must be what the full reading gives:
    # spaces and quotes stripped, the bots' nulls None, plain ASCII notation (no "1_0", no other
    # scripts' digits) a Decimal within range, anything else bad_number.
    stripped = text.strip().strip('"').strip()
    expected: tuple[Any, str]
    if stripped.lower() in ("", "none", "null"):
        expected = (None, "")
    elif PLAIN_NOTATION.fullmatch(stripped) and in_range(Decimal(stripped)):
        expected = (Decimal(stripped), "")
    else:
        expected = (None, "bad_number")

    assert attempt(parsing.number, text, "field") == expected


@pytest.mark.parametrize("text", ["", "None", "null", None, '""'])
def test_the_nulls_the_bots_write_mean_no_value(text: Any) -> None:
    assert parsing.number(text, "field") is None


@pytest.mark.parametrize("text", ["0.0", "0", "-1.5", "None"])
def test_zero_and_below_mean_not_set_for_prices_and_sizes(text: str) -> None:
    assert parsing.positive(text, "field") is None


@given(levels=st.lists(prices, min_size=1, max_size=5))
def test_take_profit_levels_read_from_commas_and_from_json(levels: list[Decimal]) -> None:
    as_commas = ",".join(codec.float_text(level) for level in levels)
    as_json = "[" + ", ".join(codec.float_text(level) for level in levels) + "]"

    assert parsing.take_profit_levels(as_commas) == parsing.take_profit_levels(as_json) == tuple(levels)


@pytest.mark.parametrize(("text", "expected"), [("10.0", 10), ("10", 10), (None, 1), ("None", 1), ("125.0", 125)])
def test_leverage_like_10_0(text: Any, expected: int) -> None:
    assert parsing.leverage(text)[0] == expected


@pytest.mark.parametrize("text", ["10.5", "0", "126", "abc"])
def test_leverage_out_of_bounds_is_invalid(text: str) -> None:
    with pytest.raises(Invalid):
        parsing.leverage(text)


@given(epoch=st.integers(min_value=10**9, max_value=4 * 10**9))
def test_times_from_epoch_seconds_milliseconds_and_iso(epoch: int) -> None:
    moment = datetime.fromtimestamp(epoch, tz=UTC)

    assert parsing.moment(str(epoch)) == parsing.moment(epoch * 1000) == moment
    assert parsing.moment(json.dumps(moment.isoformat())) == moment
    assert parsing.moment(moment.replace(tzinfo=None).isoformat()) == moment  # naive: taken in UTC by default


# -- keys --------------------------------------------------------------------------------------------------


@given(user_id=user_ids, symbol=st.text(min_size=1, max_size=30).filter(lambda s: not s.startswith(":")), side=sides)
def test_hyperrsi_keys_parse_back_even_with_colons_in_the_symbol(user_id: str, symbol: str, side: str) -> None:
    assume(":position:" not in user_id)
    parsed = keys.parse_hyperrsi_position_key(keys.hyperrsi_position(user_id, symbol, side))

    assert parsed == keys.LegacyKey("hyperrsi_position", user_id, symbol=symbol, side=side)


@pytest.mark.parametrize(
    "key", ["user:1:position:BTC-USDT-SWAP:long:dca_count", "user:1:position:BTC-USDT-SWAP:position_state",
            "user:1:position:summary", "user:1:position:BTC-USDT-SWAP:long:tp_data"],
)  # fmt: skip
def test_siblings_under_the_position_pattern_are_not_positions(key: str) -> None:
    assert keys.parse_hyperrsi_position_key(key).kind == "hyperrsi_sibling"  # type: ignore[union-attr]


@given(user_id=user_ids, symbol=st.text(min_size=1, max_size=30), level=st.integers(0, 100))
def test_grid_keys_parse_back_in_both_layouts(user_id: str, symbol: str, level: int) -> None:
    assume(":symbol:" not in user_id and ":user:" not in user_id and not symbol.endswith(":active_grid"))
    one = keys.parse_grid_level_key(keys.grid_level("okx", user_id, symbol, level))
    single = keys.parse_grid_level_key(keys.grid_symbol("okx", user_id, symbol) + ":active_grid")

    assert one == keys.LegacyKey("grid_level", user_id, symbol=symbol, exchange="okx", level=level)
    assert single == keys.LegacyKey("grid_levels", user_id, symbol=symbol, exchange="okx")


def test_grid_user_keys_are_exactly_exchange_user_id() -> None:
    assert keys.parse_grid_user_key("okx:user:7") == keys.LegacyKey("grid_user", "7", exchange="okx")
    assert keys.parse_grid_user_key("okx:user:7:key") is None
    assert keys.parse_grid_user_key("completed:user:7:BTC:order:1") is None


# -- HYPERRSI positions ------------------------------------------------------------------------------------


def our_position(market: Any, contracts: int, entry: Decimal, leverage: int, side: str, **extra: Any) -> Position:
    return Position(
        user_id="u", exchange=Exchange.OKX, symbol=market.symbol, side=PositionSide(side),
        size=contracts * market.contract_size, entry_price=entry, leverage=leverage,
        contract_size=market.contract_size, created_at=T0, updated_at=T0, **extra,
    )  # fmt: skip


@given(market=markets, contracts=lots, entry=prices, leverage=leverages, side=sides, stop=st.none() | prices,
       levels=st.lists(prices, max_size=3))  # fmt: skip
def test_our_hyperrsi_hash_reads_back_as_the_same_position(
    market: Any, contracts: int, entry: Decimal, leverage: int, side: str, stop: Decimal | None, levels: list[Decimal]
) -> None:
    assume(contracts * market.contract_size < 10**11)  # what numeric(20,8) holds
    metadata = {"tp_prices": [str(level) for level in levels]}
    position = our_position(market, contracts, entry, leverage, side, stop_loss_price=stop,
                            take_profit_price=levels[0] if levels else None, metadata=metadata)  # fmt: skip
    key = keys.parse_hyperrsi_position_key(keys.hyperrsi_position("u", market.symbol, side))
    assert key is not None

    parsed = parsing.parse_hyperrsi_position(key, codec.encode_hyperrsi_position(position))

    assert (parsed.symbol, parsed.side, parsed.contracts) == (market.symbol, side, contracts)
    assert parsed.size == position.size
    assert (parsed.entry_price, parsed.leverage, parsed.stop_loss_price) == (entry, leverage, stop)
    assert parsed.take_profit_levels == tuple(levels)


@given(fields=st.dictionaries(st.sampled_from(["size", "contracts", "contracts_amount", "position_qty", "entry_price",
       "leverage", "contract_size", "symbol", "side", "tp_prices", "sl_price", "mark_price", "liquidation_price",
       "unrealized_pnl", "margin_mode", "last_update_time", "position_info"]), junk.map(lambda v: "" if v is None else
       str(v)), max_size=12))  # fmt: skip
def test_any_junk_record_is_imported_valid_or_reported(fields: dict[str, str]) -> None:
    key = keys.LegacyKey("hyperrsi_position", "u", symbol="BTC-USDT-SWAP", side="long")
    parsed, reason = attempt(lambda: parsing.parse_hyperrsi_position(key, parsing.hyperrsi_fields("hash", fields)))
    if reason:
        return
    assert parsed.size > 0
    assert parsed.entry_price > 0
    assert 1 <= parsed.leverage <= 125


def test_a_ccxt_symbol_field_with_a_native_key_is_the_same_instrument() -> None:
    key = keys.LegacyKey("hyperrsi_position", "u", symbol="BTC-USDT-SWAP", side="long")
    fields = {"symbol": "BTC/USDT:USDT", "size": "2.0", "entry_price": "45000.0", "leverage": "10.0"}

    assert parsing.parse_hyperrsi_position(key, fields).size == D("0.02")
    with pytest.raises(Invalid, match="symbol_mismatch"):
        parsing.parse_hyperrsi_position(key, fields | {"symbol": "ETH/USDT:USDT"})
    with pytest.raises(Invalid, match="contract_size_mismatch"):
        parsing.parse_hyperrsi_position(key, fields | {"contract_size": "0.001"})


def test_a_record_written_by_our_dual_write_is_skipped() -> None:
    key = keys.LegacyKey("hyperrsi_position", "u", symbol="BTC-USDT-SWAP", side="long")

    with pytest.raises(Skip, match="ours"):
        parsing.parse_hyperrsi_position(key, {"tradingcore_position_id": "x", "size": "1.0"})


# -- GRID levels -------------------------------------------------------------------------------------------


@given(market=markets, contracts=lots, entry=prices, count=st.integers(-50, 50).filter(bool),
       pnl=st.decimals(min_value=-(10**6), max_value=10**6, places=8))  # fmt: skip
def test_a_grid_level_reads_back_with_its_direction_from_the_count(
    market: Any, contracts: int, entry: Decimal, count: int, pnl: Decimal
) -> None:
    assume(contracts * market.contract_size < 10**11)
    fields = codec.encode_grid_level(entry_price=entry, position_size=D(contracts), grid_count=count, pnl=pnl,
                                     execution_time=T0)  # fmt: skip
    key = keys.LegacyKey("grid_level", "u", symbol=market.symbol, exchange="okx", level=3)

    parsed = parsing.parse_grid_level(key, 3, fields, "10")

    assert parsed.side == ("long" if count > 0 else "short")
    assert (parsed.size, parsed.entry_price, parsed.grid_count) == (contracts * market.contract_size, entry, count)
    assert (parsed.realized_pnl, parsed.leverage, parsed.opened_at) == (pnl, 10, T0)


def test_an_empty_grid_level_is_skipped_and_a_level_without_direction_is_invalid() -> None:
    key = keys.LegacyKey("grid_level", "u", symbol="BTC-USDT-SWAP", exchange="okx", level=0)

    with pytest.raises(Skip, match="empty_level"):
        parsing.parse_grid_level(key, 0, codec.encode_grid_empty(), None)
    with pytest.raises(Invalid, match="no_direction"):
        parsing.parse_grid_level(key, 0, {"entry_price": "1.0", "position_size": "2.0", "grid_count": "0"}, None)


def test_an_unknown_grid_symbol_is_invalid_never_guessed() -> None:
    key = keys.LegacyKey("grid_level", "u", symbol="NEW-USDT-SWAP", exchange="okx", level=0)

    with pytest.raises(Invalid, match="unknown_symbol"):
        parsing.parse_grid_level(key, 0, {"entry_price": "1.0", "position_size": "2.0", "grid_count": "1"}, None)


def test_the_older_single_grid_hash_splits_into_levels() -> None:
    levels = parsing.split_grid_levels({"0:entry_price": "1.0", "0:grid_count": "1", "12:pnl": "0.5", "junk": "x"})

    assert levels == {0: {"entry_price": "1.0", "grid_count": "1"}, 12: {"pnl": "0.5"}}


# -- HYPERRSI orders ---------------------------------------------------------------------------------------

statuses = st.sampled_from(list(OrderStatus))


@given(status=statuses, contracts=lots, filled_part=st.integers(0, 100))
def test_our_order_items_read_back_with_the_same_status_through_ccxt_spellings(
    status: OrderStatus, contracts: int, filled_part: int
) -> None:
    quantity = D(contracts) * D("0.01")
    filled = {OrderStatus.FILLED: quantity, OrderStatus.PARTIALLY_FILLED: quantity * filled_part / 101,
              OrderStatus.PENDING: D(0), OrderStatus.OPEN: D(0)}.get(status, quantity * filled_part / 101)  # fmt: skip
    filled = filled.quantize(D("0.00000001"))
    assume(status != OrderStatus.PARTIALLY_FILLED or filled > 0)
    order = Order(
        user_id="u",
        exchange=Exchange.OKX,
        symbol="BTC-USDT-SWAP",
        side=OrderSide.BUY,
        order_type=OrderType.LIMIT,
        quantity=quantity,
        filled_qty=filled,
        status=status,
        exchange_order_id="123",
        contract_size=D("0.01"),
        created_at=T0,
        updated_at=T0 + timedelta(seconds=1),
    )
    item = json.loads(codec.encode_hyperrsi_order(order))
    item.pop("managed_by")

    parsed = parsing.parse_hyperrsi_order("u", json.dumps(item))

    expected = OrderStatus.OPEN if status == OrderStatus.PENDING else status
    assert (parsed.status, parsed.quantity, parsed.filled_qty) == (expected.value, quantity, filled)
    assert (parsed.created_at, parsed.updated_at) == (T0, T0 + timedelta(seconds=1))


def test_our_own_items_and_the_placeholders_are_skipped() -> None:
    with pytest.raises(Skip, match="ours"):
        parsing.parse_hyperrsi_order("u", json.dumps({"order_id": "1", "managed_by": "tradingcore"}))
    with pytest.raises(Skip, match="placeholder_order"):
        parsing.parse_hyperrsi_order("u", json.dumps({"order_id": "margin_blocked"}))


@given(item=st.dictionaries(st.sampled_from(["order_id", "symbol", "side", "size", "filled_size", "status",
       "avg_fill_price", "create_time", "order_type", "posSide"]), junk, max_size=10))  # fmt: skip
def test_any_junk_item_is_imported_valid_or_reported(item: dict[str, Any]) -> None:
    parsed, reason = attempt(parsing.parse_hyperrsi_order, "u", json.dumps(item))
    if reason:
        return
    assert 0 <= parsed.filled_qty <= parsed.quantity


# -- credentials -------------------------------------------------------------------------------------------


def test_credentials_values_are_plaintext_or_enc_v1_tokens() -> None:
    from cryptography.fernet import Fernet

    key = Fernet.generate_key().decode()
    token = "enc_v1:" + Fernet(key.encode()).encrypt(b"secret").decode()
    fields = {"api_key": "k", "api_secret": token, "password": "p"}

    found = parsing.parse_credentials("grid", "7", "okx", fields, parsing.fernet_decryptor(key))

    assert (found.api_key, found.api_secret, found.passphrase) == ("k", "secret", "p")
    assert "secret" not in repr(found)
    with pytest.raises(Invalid, match="no_legacy_key"):
        parsing.parse_credentials("grid", "7", "okx", fields, parsing.fernet_decryptor(None))
    with pytest.raises(Skip, match="no_credentials"):
        parsing.parse_credentials("hyperrsi", "7", "okx", {"api_key": "None"}, parsing.fernet_decryptor(key))


@pytest.mark.parametrize(
    "text", ["1_0", "1_000", "\u0661", "\uff10.\uff10\uff11", "1 0", "0x10", "1e999999999999999999"]
)
def test_a_number_python_reads_but_that_is_not_plain_notation_is_a_bad_number(text: str) -> None:
    with pytest.raises(Invalid, match="bad_number"):
        parsing.number(text, "size")


@pytest.mark.parametrize(
    ("text", "expected"), [(" 10.0 ", D(10)), ('"46000.5"', D("46000.5")), ("1e-05", D("0.00001"))]
)
def test_the_spellings_the_bots_wrote_still_read(text: str, expected: Decimal) -> None:
    assert parsing.number(text, "size") == expected


def test_json_nested_too_deeply_is_bad_json_not_a_recursion_error() -> None:
    with pytest.raises(Invalid, match="bad_json"):
        parsing.json_value("[" * 100_000, "position_info")


def test_fingerprints_stay_the_same_across_versions() -> None:
    # The ledger keeps these digests: a re-run after an upgrade must still find its records unchanged.
    # (Digests of the first release, whose fingerprint built a dict and a generator per record.)
    key = keys.parse_hyperrsi_position_key("user:101:position:BTC-USDT-SWAP:long")
    assert key is not None
    position = parsing.parse_hyperrsi_position(key, {
        "symbol": "BTC/USDT:USDT", "side": "long", "size": "12.0", "contract_size": "0.01", "entry_price": "45123.4",
        "leverage": "10.0", "mark_price": "45200.0", "liquidation_price": "0.0", "sl_price": "44000",
        "tp_prices": "46000.0,47000.0,48000.5", "unrealized_pnl": "9.192", "last_update_time": "1714564800",
    })  # fmt: skip
    level_key = keys.parse_grid_level_key("okx:user:7:symbol:BTC-USDT-SWAP:active_grid:1")
    assert level_key is not None
    level = parsing.parse_grid_level(level_key, 1, {
        "entry_price": "44010.0", "position_size": "3.0", "grid_count": "-2", "pnl": "1.5",
        "execution_time": '"2024-05-01T21:00:00"',
    }, "10")  # fmt: skip
    order = parsing.parse_hyperrsi_order("101", json.dumps({
        "order_id": "9002", "symbol": "BTC-USDT-SWAP", "side": "sell", "size": 2, "filled_size": 1, "status": "open",
        "avg_fill_price": 46000.0, "create_time": "2024-05-01T12:00:00", "update_time": "2024-05-01T12:05:00",
        "order_type": "take_profit", "posSide": "long",
    }))  # fmt: skip

    assert position.fingerprint() == "fed58b626673ff854928e400ae46c1950f2a403f9dd7f0fa7443c41106dfda66"
    assert level.fingerprint() == "fdc542960a35bf752caaed93412e1347c2c4313d4fad7c49e7530274551d3bb3"
    assert order.fingerprint() == "3ec74fcef91b02fdde11bae29ade26c19a0dae6922a5beaa3adecb255d436a39"
    assert position.fingerprint() == parsing.fingerprint(
        {name: value for name, value in vars(position).items() if name != "warnings"}
    )
