"""Addresses, carts, trades and their orders (TOP's Trade and Order)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mercato.models.base import Base, BigId, Timestamps, UTCDateTime


class Address(Timestamps, Base):
    """An entry of a buyer's address book."""

    __tablename__ = "addresses"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(50))
    mobile: Mapped[str] = mapped_column(String(20))
    state: Mapped[str] = mapped_column(String(32))
    city: Mapped[str] = mapped_column(String(32))
    district: Mapped[str] = mapped_column(String(32), default="")
    address: Mapped[str] = mapped_column(String(200))
    zip: Mapped[str] = mapped_column(String(10), default="")
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)


class CartLine(Timestamps, Base):
    __tablename__ = "cart_lines"
    __table_args__ = (UniqueConstraint("user_id", "item_id", "sku_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"))
    # 0 for an item without SKUs, so the unique constraint holds (NULLs never collide).
    sku_id: Mapped[int] = mapped_column(BigInteger, default=0)
    quantity: Mapped[int] = mapped_column(Integer)


class Trade(Base):
    """One shop's part of a checkout (``tid``). Money in fen."""

    __tablename__ = "trades"
    __table_args__ = (
        UniqueConstraint("buyer_id", "checkout_key", "shop_id"),
        Index("ix_trades_seller_status_created", "seller_id", "status", "created"),
        Index("ix_trades_seller_modified", "seller_id", "modified"),
        Index("ix_trades_buyer_created", "buyer_id", "created"),
        Index("ix_trades_status_timeout", "status", "timeout_action_time"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)  # tid
    checkout_key: Mapped[str] = mapped_column(String(64))  # idempotency of the checkout
    buyer_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    seller_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id"))
    type: Mapped[str] = mapped_column(String(24), default="fixed")
    status: Mapped[str] = mapped_column(String(32), default="WAIT_BUYER_PAY")
    created: Mapped[datetime] = mapped_column(UTCDateTime)
    modified: Mapped[datetime] = mapped_column(UTCDateTime)
    pay_time: Mapped[datetime | None] = mapped_column(UTCDateTime)
    consign_time: Mapped[datetime | None] = mapped_column(UTCDateTime)
    end_time: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When the running timer acts (close unpaid, auto-confirm), for TOP's timeout_action_time.
    timeout_action_time: Mapped[datetime | None] = mapped_column(UTCDateTime)
    total_fee: Mapped[int] = mapped_column(BigInteger)  # sum of price × num
    post_fee: Mapped[int] = mapped_column(BigInteger, default=0)
    discount_fee: Mapped[int] = mapped_column(BigInteger, default=0)
    adjust_fee: Mapped[int] = mapped_column(BigInteger, default=0)
    payment: Mapped[int] = mapped_column(BigInteger)  # what the buyer pays
    commission_fee: Mapped[int] = mapped_column(BigInteger, default=0)
    receiver_name: Mapped[str] = mapped_column(String(50))
    receiver_mobile: Mapped[str] = mapped_column(String(20))
    receiver_state: Mapped[str] = mapped_column(String(32))
    receiver_city: Mapped[str] = mapped_column(String(32))
    receiver_district: Mapped[str] = mapped_column(String(32), default="")
    receiver_address: Mapped[str] = mapped_column(String(200))
    receiver_zip: Mapped[str] = mapped_column(String(10), default="")
    buyer_message: Mapped[str] = mapped_column(String(500), default="")
    seller_memo: Mapped[str] = mapped_column(String(1000), default="")
    seller_flag: Mapped[int] = mapped_column(Integer, default=0)
    buyer_rate: Mapped[bool] = mapped_column(Boolean, default=False)
    seller_rate: Mapped[bool] = mapped_column(Boolean, default=False)
    # Sequence of the last event recorded for this trade; events carry 1, 2, 3, …
    event_seq: Mapped[int] = mapped_column(Integer, default=0)

    orders: Mapped[list[Order]] = relationship(
        lazy="selectin", order_by="Order.id", cascade="all, delete-orphan"
    )


class Order(Base):
    """One item or SKU line of a trade (``oid``), with a snapshot of what was bought."""

    __tablename__ = "orders"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)  # oid
    trade_id: Mapped[int] = mapped_column(ForeignKey("trades.id", ondelete="CASCADE"), index=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"), index=True)
    sku_id: Mapped[int | None] = mapped_column(ForeignKey("skus.id"))
    category_id: Mapped[int] = mapped_column(BigInteger)
    title: Mapped[str] = mapped_column(String(60))
    pic_path: Mapped[str | None] = mapped_column(String(300))
    sku_properties_name: Mapped[str] = mapped_column(String(300), default="")
    outer_iid: Mapped[str | None] = mapped_column(String(64))
    outer_sku_id: Mapped[str | None] = mapped_column(String(64))
    price: Mapped[int] = mapped_column(BigInteger)
    num: Mapped[int] = mapped_column(Integer)
    total_fee: Mapped[int] = mapped_column(BigInteger)
    discount_fee: Mapped[int] = mapped_column(BigInteger, default=0)
    adjust_fee: Mapped[int] = mapped_column(BigInteger, default=0)
    payment: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(32), default="WAIT_BUYER_PAY")
    refund_status: Mapped[str] = mapped_column(String(32), default="NO_REFUND")
    refund_id: Mapped[int | None] = mapped_column(BigInteger)
    logistics_company: Mapped[str | None] = mapped_column(String(32))
    invoice_no: Mapped[str | None] = mapped_column(String(64))
    consign_time: Mapped[datetime | None] = mapped_column(UTCDateTime)
    end_time: Mapped[datetime | None] = mapped_column(UTCDateTime)
