"""Rating results, roles, limits and the shop summary (TOP §9.7)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Final

from mercato.models import TradeRate

GOOD: Final = "good"
NEUTRAL: Final = "neutral"
BAD: Final = "bad"
RESULTS: Final = (GOOD, NEUTRAL, BAD)

# Who rates: the buyer rates the seller's goods, the seller rates the buyer.
ROLE_BUYER: Final = "buyer"
ROLE_SELLER: Final = "seller"

RATE_WINDOW: Final = timedelta(days=15)  # after the trade's end_time
MAX_CONTENT: Final = 500  # characters, for a rating's content and for a reply
RECENT_IN_SUMMARY: Final = 10

TRADE_RATED: Final = "taobao_trade_TradeRated"


@dataclass(frozen=True)
class ShopSummary:
    """Buyers' ratings of one shop: counts per result, the share of good ones (0–1, two
    places, 0 when there are none) and the most recent ratings, newest first."""

    total: int
    good: int
    neutral: int
    bad: int
    good_rate: Decimal
    recent: list[TradeRate]
