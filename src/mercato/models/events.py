"""The outbox (events recorded in the same transaction as the change) and durable jobs."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from mercato.models.base import Base, BigId, UTCDateTime


class OutboxEvent(Base):
    """A state change others care about, named and shaped as TOP's message topics."""

    __tablename__ = "outbox_events"
    __table_args__ = (Index("ix_outbox_undispatched", "dispatched_at", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    topic: Mapped[str] = mapped_column(String(80))  # e.g. taobao_trade_TradeCreate
    # What the event is about, and its place in that thing's history (1, 2, 3, …).
    subject: Mapped[str] = mapped_column(String(40))  # e.g. "trade:1234"
    seq: Mapped[int] = mapped_column(Integer)
    user_id: Mapped[int | None] = mapped_column(BigInteger, index=True)  # whose data (seller)
    user_nick: Mapped[str | None] = mapped_column(String(32))
    content: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    dispatched_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Job(Base):
    """A durable scheduled job: a timer survives restarts because it is a row."""

    __tablename__ = "jobs"
    __table_args__ = (Index("ix_jobs_due", "status", "run_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    # One live job per key: rescheduling replaces rather than duplicates ("close:1234").
    key: Mapped[str] = mapped_column(String(100), unique=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    run_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(12), default="pending")  # pending, done, dead
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
