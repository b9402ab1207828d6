"""Refunds and after-sales, one per order at a time (TOP's Refund)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from mercato.models.base import Base, BigId, UTCDateTime


class Refund(Base):
    __tablename__ = "refunds"
    __table_args__ = (
        Index("ix_refunds_seller_status_modified", "seller_id", "status", "modified"),
        Index("ix_refunds_buyer_created", "buyer_id", "created"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)  # refund_id
    trade_id: Mapped[int] = mapped_column(ForeignKey("trades.id"), index=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    buyer_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    seller_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    # REFUND (money only) or REFUND_AND_RETURN (goods come back first).
    dispute_type: Mapped[str] = mapped_column(String(24))
    has_good_return: Mapped[bool] = mapped_column(Boolean, default=False)
    refund_fee: Mapped[int] = mapped_column(BigInteger)  # fen asked for
    reason: Mapped[str] = mapped_column(String(100))
    desc: Mapped[str] = mapped_column(String(500), default="")
    # WAIT_SELLER_AGREE, WAIT_BUYER_RETURN_GOODS, WAIT_SELLER_CONFIRM_GOODS,
    # SELLER_REFUSE_BUYER, CLOSED, SUCCESS
    status: Mapped[str] = mapped_column(String(32))
    good_status: Mapped[str] = mapped_column(String(32))  # BUYER_NOT_RECEIVED, …
    refund_phase: Mapped[str] = mapped_column(String(12))  # onsale (before receipt), aftersale
    seller_refuse_reason: Mapped[str] = mapped_column(String(200), default="")
    return_company: Mapped[str | None] = mapped_column(String(16))
    return_sid: Mapped[str | None] = mapped_column(String(64))  # the buyer's return waybill
    # 0 none, 1 the operator was asked to intervene, 2 the operator decided
    cs_status: Mapped[int] = mapped_column(Integer, default=0)
    created: Mapped[datetime] = mapped_column(UTCDateTime)
    modified: Mapped[datetime] = mapped_column(UTCDateTime)
    timeout_action_time: Mapped[datetime | None] = mapped_column(UTCDateTime)
    event_seq: Mapped[int] = mapped_column(Integer, default=0)
