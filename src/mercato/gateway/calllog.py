"""The call log: every gateway call, errors included, written in batches off the hot path.

``record`` (called by ``hooks.after_call``) only appends a small record to a bounded
in-memory queue and never awaits anything; when the queue is full the record is dropped and
counted in ``dropped`` rather than making the caller wait. A background task (started and
stopped by the app's lifespan) writes the queue every ``interval`` seconds, or sooner once
``batch_size`` records wait, with one executemany ``INSERT`` per batch in its own write unit
of work; ``stop`` writes what is left.

Retention: ``purge_older_than`` deletes calls older than ``MERCATO_CALL_LOG_RETENTION_DAYS``.
The jobs system only has one-shot timers, so the writer runs the purge itself once an hour
(idempotent, so several server processes doing it is harmless).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, insert

from mercato.config import Settings
from mercato.kit.clock import utcnow
from mercato.kit.db import Database
from mercato.models import ApiCall

log = logging.getLogger("mercato.gateway.calllog")

BATCH_SIZE = 500
INTERVAL_S = 0.5
PURGE_EVERY_S = 3600.0
FIRST_PURGE_AFTER_S = 60.0
MAX_LATENCY_US = 2**31 - 1


@dataclass(frozen=True, slots=True)
class CallRecord:
    """One call, as the ``api_calls`` row will hold it."""

    request_id: str
    app_id: int | None
    method: str
    user_id: int | None
    code: int
    sub_code: str
    latency_us: int
    called_at: datetime

    @classmethod
    def of(
        cls,
        *,
        request_id: str,
        app_id: int | None,
        method: str,
        user_id: int | None,
        code: int,
        sub_code: str | None,
        latency_us: int,
        called_at: datetime,
    ) -> CallRecord:
        """Clipped to the columns' sizes (a garbage ``method`` is still a call)."""
        return cls(
            request_id=request_id[:32],
            app_id=app_id,
            method=method[:100],
            user_id=user_id,
            code=code,
            sub_code=(sub_code or "")[:100],
            latency_us=min(max(latency_us, 0), MAX_LATENCY_US),
            called_at=called_at,
        )


async def write_calls(db: Database, records: list[CallRecord]) -> None:
    """One executemany insert in one write unit of work."""
    if not records:
        return
    async with db.write() as session:
        await session.execute(insert(ApiCall), [asdict(r) for r in records])


async def purge_older_than(db: Database, days: int) -> int:
    """Delete calls made more than ``days`` days ago; returns how many went."""
    cutoff = utcnow() - timedelta(days=days)
    async with db.write() as session:
        result = await session.execute(delete(ApiCall).where(ApiCall.called_at < cutoff))
    return int(getattr(result, "rowcount", 0) or 0)


class CallLog:
    """The queue and its writer task."""

    def __init__(
        self,
        db: Database,
        *,
        capacity: int = 10_000,
        batch_size: int = BATCH_SIZE,
        interval: float = INTERVAL_S,
        retention_days: int = 30,
        purge_every: float = PURGE_EVERY_S,
    ) -> None:
        self.db = db
        self.capacity = capacity
        self.batch_size = batch_size
        self.interval = interval
        self.retention_days = retention_days
        self.purge_every = purge_every
        self.dropped = 0  # records refused because the queue was full (for metrics)
        self.failed = 0  # records lost to a failed write (for metrics)
        self.written = 0
        self._queue: deque[CallRecord] = deque()
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self._next_purge = time.monotonic() + FIRST_PURGE_AFTER_S

    @classmethod
    def from_settings(cls, db: Database, settings: Settings) -> CallLog:
        return cls(
            db,
            capacity=settings.call_log_queue_size,
            retention_days=settings.call_log_retention_days,
        )

    @property
    def pending(self) -> int:
        return len(self._queue)

    def record(self, record: CallRecord) -> bool:
        """Queue one call; False (and counted) when the queue is full. Never blocks."""
        if len(self._queue) >= self.capacity:
            self.dropped += 1
            return False
        self._queue.append(record)
        if len(self._queue) >= self.batch_size:
            self._wake.set()
        return True

    async def flush(self) -> int:
        """Write everything queued now, ``batch_size`` records per insert; returns how many
        were written. A failed batch is logged and counted in ``failed``, not retried."""
        written = 0
        async with self._lock:
            while self._queue:
                count = min(self.batch_size, len(self._queue))
                batch = [self._queue.popleft() for _ in range(count)]
                try:
                    await write_calls(self.db, batch)
                except Exception:
                    self.failed += len(batch)
                    log.exception("call log: a batch of %d calls was lost", len(batch))
                    continue
                written += len(batch)
        self.written += written
        return written

    async def purge(self) -> int:
        removed = await purge_older_than(self.db, self.retention_days)
        if removed:
            log.info("call log: purged %d calls older than %d days", removed, self.retention_days)
        return removed

    # ---------------------------------------------------------------- the writer task

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    async def start(self) -> None:
        if self.running:
            return
        self._stopping.clear()
        self._task = asyncio.create_task(self._loop(), name="call-log-writer")

    async def stop(self) -> None:
        """Stop the writer and write what is still queued."""
        task, self._task = self._task, None
        if task is not None:
            self._stopping.set()
            self._wake.set()
            await task
        await self.flush()

    async def _loop(self) -> None:
        while not self._stopping.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.interval)
            self._wake.clear()
            try:
                await self.flush()
                if time.monotonic() >= self._next_purge:
                    self._next_purge = time.monotonic() + self.purge_every
                    await self.purge()
            except Exception:
                log.exception("call log writer: round failed")
