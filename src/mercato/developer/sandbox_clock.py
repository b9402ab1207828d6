"""The sandbox clock shared by every process: its offset is one database row.

`mercato sandbox clock --advance 3d` runs in its own process, so moving
``mercato.kit.clock`` there alone would change nothing for the servers and workers. The
offset is stored instead, and each server and worker keeps a ``ClockFollower`` that copies
it into its own clock at start and then every second. Services keep calling ``utcnow()``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.kit.clock import clock
from mercato.kit.db import Database
from mercato.kit.errors import ValidationFailed
from mercato.models.sandbox import SANDBOX_CLOCK_ROW, SandboxClock

log = logging.getLogger(__name__)

UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
# Far enough for any timer (the longest waits days), near enough that datetimes never overflow.
MAX_STEP = timedelta(days=3650)
_DURATION = re.compile(r"(?:\d+[smhd])+", re.ASCII)
_PART = re.compile(r"(\d+)([smhd])", re.ASCII)


def parse_duration(text: str, field: str = "advance") -> timedelta:
    """``90m``, ``3d``, ``1d12h``: a positive step for the clock; anything else (negative,
    zero, no unit, beyond ten years) is a ValidationFailed naming ``field``."""
    cleaned = text.strip().lower()
    if not _DURATION.fullmatch(cleaned):
        raise ValidationFailed.one(
            field, "duration", f"{text!r} is not a duration such as 30s, 90m, 12h or 3d"
        )
    seconds = sum(int(n) * UNITS[unit] for n, unit in _PART.findall(cleaned))
    if seconds <= 0 or seconds > MAX_STEP.total_seconds():
        raise ValidationFailed.one(field, "duration_range", "must be from 1s to 3650d")
    return timedelta(seconds=seconds)


async def load(session: AsyncSession) -> timedelta:
    """The stored offset (none stored: zero)."""
    seconds = await session.scalar(
        select(SandboxClock.offset_seconds).where(SandboxClock.id == SANDBOX_CLOCK_ROW)
    )
    return timedelta(seconds=seconds or 0)


async def add(session: AsyncSession, delta: timedelta) -> timedelta:
    """Move the stored offset forward by ``delta`` and return it. One upsert that adds in
    the database, so two commands advancing at once both count."""
    step = int(delta.total_seconds())
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    stmt = insert(SandboxClock).values(id=SANDBOX_CLOCK_ROW, offset_seconds=step)
    stmt = stmt.on_conflict_do_update(
        index_elements=[SandboxClock.id],
        set_={"offset_seconds": SandboxClock.offset_seconds + stmt.excluded.offset_seconds},
    )
    await session.execute(stmt)
    return await load(session)


async def clear(session: AsyncSession) -> None:
    """Back to the wall clock."""
    await session.execute(delete(SandboxClock).where(SandboxClock.id == SANDBOX_CLOCK_ROW))


class ClockFollower:
    """Keeps this process's clock on the stored offset: loaded by ``start`` (before the
    first request or job), then refreshed every ``interval`` seconds in an asyncio task.
    ``stop`` returns the process to the wall clock. A failed refresh is logged and the last
    offset kept, so a database hiccup does not stop the server."""

    def __init__(self, db: Database, *, interval: float = 1.0) -> None:
        self.db = db
        self.interval = interval
        self._task: asyncio.Task[None] | None = None

    async def refresh(self) -> None:
        try:
            async with self.db.read() as session:
                clock.follow(await load(session))
        except Exception:
            log.exception("sandbox clock: could not read the shared offset")

    async def start(self) -> None:
        await self.refresh()
        if self._task is None:
            self._task = asyncio.create_task(self._loop(), name="sandbox-clock")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        clock.follow(timedelta())

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            await self.refresh()

    async def __aenter__(self) -> ClockFollower:
        await self.start()
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.stop()
