"""The sandbox clock's shared offset: one row, read by every server and worker."""

from __future__ import annotations

from sqlalchemy import BigInteger, Integer
from sqlalchemy.orm import Mapped, mapped_column

from mercato.models.base import Base

SANDBOX_CLOCK_ROW = 1


class SandboxClock(Base):
    """How far the sandbox clock runs ahead of the wall clock. No row means no offset (a
    fresh or truncated database), so nothing has to seed it."""

    __tablename__ = "sandbox_clock"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    offset_seconds: Mapped[int] = mapped_column(BigInteger, default=0)
