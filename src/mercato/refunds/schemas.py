"""Refund statuses, dispute types and the other values TOP spells out (§9.2, §9.5)."""

from __future__ import annotations

from typing import Final

# Refund status (and the order's refund_status), as TOP names them.
WAIT_SELLER_AGREE: Final = "WAIT_SELLER_AGREE"
WAIT_BUYER_RETURN_GOODS: Final = "WAIT_BUYER_RETURN_GOODS"
WAIT_SELLER_CONFIRM_GOODS: Final = "WAIT_SELLER_CONFIRM_GOODS"
SELLER_REFUSE_BUYER: Final = "SELLER_REFUSE_BUYER"
CLOSED: Final = "CLOSED"
SUCCESS: Final = "SUCCESS"
NO_REFUND: Final = "NO_REFUND"  # the order's refund_status when it never had a refund

STATUSES: Final = frozenset(
    {
        WAIT_SELLER_AGREE,
        WAIT_BUYER_RETURN_GOODS,
        WAIT_SELLER_CONFIRM_GOODS,
        SELLER_REFUSE_BUYER,
        CLOSED,
        SUCCESS,
    }
)
# A refund in one of these blocks another refund on the same order.
OPEN_STATUSES: Final = frozenset(STATUSES - {CLOSED, SUCCESS})

# Dispute types Mercato supports (TOP knows more: exchanges, repairs, …).
REFUND: Final = "REFUND"  # money only
REFUND_AND_RETURN: Final = "REFUND_AND_RETURN"  # the goods come back first
DISPUTE_TYPES: Final = frozenset({REFUND, REFUND_AND_RETURN})

# good_status
BUYER_NOT_RECEIVED: Final = "BUYER_NOT_RECEIVED"
BUYER_RECEIVED: Final = "BUYER_RECEIVED"
BUYER_RETURNED_GOODS: Final = "BUYER_RETURNED_GOODS"

# refund_phase
ONSALE: Final = "onsale"  # before the trade finished
AFTERSALE: Final = "aftersale"  # after the trade finished (the seller has the money)

# cs_status: the operator (customer service, 小二)
CS_NONE: Final = 0
CS_REQUESTED: Final = 1
CS_DECIDED: Final = 2

MAX_REASON = 100
MAX_DESC = 500
MAX_REFUSE_REASON = 200
MAX_COMPANY = 16
MAX_WAYBILL = 64
