"""The paper exchange: a deterministic exchange simulator kept in the database (SPEC section 5).

``PaperGateway`` serves the gateway interface for one user; ``set_mark`` moves a market and
matches its book; ``random_walk`` drives a demo. Modules: ``placement`` (validation, placing,
cancelling), ``engine`` (matching, fills), ``positions`` (paper positions), ``book`` (marks),
``leverage`` (leverage settings), ``describe`` (DTOs), and ``outside``: test and demo controls that
act on the exchange directly (a trade made outside the service, a forgotten order, a liquidation).

Settings (read at call time, with defaults): ``TRADING_PAPER_MAKER_FEE`` (0.0002; negative: a
maker rebate, kept as a negative fee), ``TRADING_PAPER_TAKER_FEE`` (0.0005),
``TRADING_PAPER_SLIPPAGE_BPS`` (0). Fees are charged in the settlement currency (USDT).
"""

from tradingcore.exchange.paper.book import PaperTrade, advance_random_walk, get_mark, random_walk, set_mark
from tradingcore.exchange.paper.errors import OrderNotCancellable, PaperMarkMissing
from tradingcore.exchange.paper.gateway import PaperGateway

__all__ = [
    "OrderNotCancellable",
    "PaperGateway",
    "PaperMarkMissing",
    "PaperTrade",
    "advance_random_walk",
    "get_mark",
    "random_walk",
    "set_mark",
]
