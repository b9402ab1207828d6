"""Ratings between buyers and sellers after a trade (TOP's TradeRate)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from mercato.models.base import Base, BigId, UTCDateTime


class TradeRate(Base):
    """One side's rating of one order: ``role`` is who rates (buyer rates the seller's goods,
    seller rates the buyer)."""

    __tablename__ = "trade_rates"
    __table_args__ = (
        UniqueConstraint("order_id", "role"),
        Index("ix_trade_rates_rated_created", "rated_id", "created"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    trade_id: Mapped[int] = mapped_column(ForeignKey("trades.id"), index=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"))
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id"), index=True)
    item_id: Mapped[int] = mapped_column(BigInteger)
    role: Mapped[str] = mapped_column(String(8))  # buyer | seller
    rater_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    rated_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    result: Mapped[str] = mapped_column(String(8))  # good | neutral | bad
    content: Mapped[str] = mapped_column(String(500), default="")
    reply: Mapped[str] = mapped_column(String(500), default="")
    created: Mapped[datetime] = mapped_column(UTCDateTime)
    replied_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
