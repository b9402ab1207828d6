"""Double-entry ledger and payments. Amounts are signed fen; every transaction's entries sum
to zero; balances are sums of entries, never stored."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mercato.models.base import Base, BigId, UTCDateTime


class LedgerAccount(Base):
    """An account such as ``wallet:42``, ``escrow``, ``commission``, ``channel:sandbox``."""

    __tablename__ = "ledger_accounts"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # wallet, escrow, revenue, channel, seller


class LedgerTransaction(Base):
    __tablename__ = "ledger_transactions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    # Makes each movement happen once: "pay:<payment id>", "release:<tid>", "refund:<id>".
    idempotency_key: Mapped[str] = mapped_column(String(100), unique=True)
    kind: Mapped[str] = mapped_column(String(24))
    trade_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    memo: Mapped[str] = mapped_column(String(200), default="")

    entries: Mapped[list[LedgerEntry]] = relationship(lazy="selectin", cascade="all")


class LedgerEntry(Base):
    __tablename__ = "ledger_entries"
    __table_args__ = (Index("ix_ledger_entries_account", "account_id", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    transaction_id: Mapped[int] = mapped_column(ForeignKey("ledger_transactions.id"), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("ledger_accounts.id"))
    amount: Mapped[int] = mapped_column(BigInteger)  # + debit into the account, − credit out


class Payment(Base):
    """A buyer's payment for one or more trades through one channel."""

    __tablename__ = "payments"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    buyer_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    channel: Mapped[str] = mapped_column(String(16))  # wallet, sandbox
    amount: Mapped[int] = mapped_column(BigInteger)
    # pending, paid, failed; refunded: the money came in after a trade could no longer take
    # it and went straight back (docs/payments.md).
    status: Mapped[str] = mapped_column(String(16), default="pending")
    # Comma list of tids, kept for readers that search by it (refunds); the per-trade
    # split that money movements use is in payment_trades.
    trade_ids: Mapped[str] = mapped_column(String(2000))
    external_ref: Mapped[str | None] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class PaymentTrade(Base):
    """What one payment pays for one trade: the split that goes into that trade's escrow."""

    __tablename__ = "payment_trades"

    payment_id: Mapped[int] = mapped_column(ForeignKey("payments.id"), primary_key=True)
    trade_id: Mapped[int] = mapped_column(ForeignKey("trades.id"), primary_key=True, index=True)
    amount: Mapped[int] = mapped_column(BigInteger)  # fen
