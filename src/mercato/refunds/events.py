"""Topic names and message bodies of the refund's events (TOP TMC topics, §11.5)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final
from zoneinfo import ZoneInfo

from mercato.kit.money import format_fen
from mercato.models import Refund
from mercato.refunds.schemas import REFUND_AND_RETURN

REFUND_CREATED: Final = "taobao_refund_RefundCreated"
REFUND_SELLER_AGREE: Final = "taobao_refund_RefundSellerAgreeAgreement"
REFUND_SELLER_REFUSE: Final = "taobao_refund_RefundSellerRefuseAgreement"
REFUND_BUYER_RETURN_GOODS: Final = "taobao_refund_RefundBuyerReturnGoods"
REFUND_SUCCESS: Final = "taobao_refund_RefundSuccess"
REFUND_CLOSED: Final = "taobao_refund_RefundClosed"
INTER_APPLIED: Final = "taobao_refund_TaobaoInterApplied"
INTERVENED: Final = "taobao_refund_TaobaoIntervened"

_GMT8 = ZoneInfo("Asia/Shanghai")


def refund_subject(refund_id: int) -> str:
    return f"refund:{refund_id}"


def top_time(moment: datetime) -> str:
    """``yyyy-MM-dd HH:mm:ss`` in GMT+8, the way TOP writes dates."""
    return moment.astimezone(_GMT8).strftime("%Y-%m-%d %H:%M:%S")


def refund_content(refund: Refund, *, buyer_nick: str, seller_nick: str) -> dict[str, Any]:
    """The body every ``taobao_refund_*`` message carries: ``{refund_id, tid, oid,
    buyer_nick, seller_nick, refund_fee, refund_phase, bill_type, modified}`` plus the
    refund's status."""
    return {
        "refund_id": refund.id,
        "tid": refund.trade_id,
        "oid": refund.order_id,
        "buyer_nick": buyer_nick,
        "seller_nick": seller_nick,
        "refund_fee": format_fen(refund.refund_fee),
        "refund_phase": refund.refund_phase,
        "bill_type": "return_bill" if refund.dispute_type == REFUND_AND_RETURN else "refund_bill",
        "status": refund.status,
        "modified": top_time(refund.modified),
    }
