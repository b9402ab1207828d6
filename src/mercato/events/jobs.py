"""Durable jobs and timers: a timer is a row in ``jobs``, so a restart loses none.

Scheduling is transactional: ``schedule`` and ``cancel`` run in the caller's unit of work,
so a timer exists exactly when the change that needs it committed. There is one live job per
key ("close:1234"); scheduling the key again replaces the earlier job instead of adding one.

``run_due`` runs what is due, each job in its own write unit of work:

- Claim: a short transaction selects due jobs (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so
  concurrent workers take disjoint jobs; SQLite ignores it and its single writer serialises
  claims) and leases them by setting ``locked_until``. A worker that dies mid-job leaves the
  lease to expire, and the job is picked up again.
- Run: the job's row is locked again and must still carry this worker's lease (a job
  rescheduled or cancelled since the claim is left alone); the handler runs in that unit of
  work and the job becomes ``done`` in the same commit. Done rows stay as history.
- Fail: the handler's work is rolled back; a separate unit adds one to ``attempts``, keeps
  ``repr`` of the error and moves ``run_at`` out by ``backoff(attempts)``. After
  ``max_attempts`` failures the job is ``dead``: a dead letter for the consoles, never retried
  unless scheduled again.

Handlers must be idempotent: a job can run twice (a lease that expired under a slow handler,
a crash after the work but before the commit is acknowledged). Payloads carry ids, and the
handler re-reads and re-checks state ("is the trade still unpaid?") before acting.

A process only claims kinds it has handlers for, so a worker built without some module never
dead-letters that module's jobs; they wait, visibly overdue, for a process that can run them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import delete, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.kit.clock import utcnow
from mercato.kit.db import Database
from mercato.models.events import Job

log = logging.getLogger(__name__)

PENDING, DONE, DEAD = "pending", "done", "dead"
MAX_ATTEMPTS = 8
LEASE = timedelta(seconds=60)
RETRY_BASE = timedelta(seconds=10)
RETRY_CAP = timedelta(hours=1)
ERROR_CHARS = 2000

Handler = Callable[[AsyncSession, dict[str, Any]], Awaitable[None]]
H = TypeVar("H", bound=Handler)

_handlers: dict[str, Handler] = {}


def handler(kind: str) -> Callable[[H], H]:
    """Register ``async def fn(session, payload) -> None`` as the runner of ``kind`` jobs."""

    def register(fn: H) -> H:
        if kind in _handlers:
            raise ValueError(f"a handler for job kind {kind!r} is already registered")
        _handlers[kind] = fn
        return fn

    return register


def unregister(kind: str) -> None:
    """Forget a kind's handler (tests register throwaway kinds and clean up after)."""
    _handlers.pop(kind, None)


def registered_kinds() -> list[str]:
    return sorted(_handlers)


def backoff(attempts: int) -> timedelta:
    """The wait after the ``attempts``-th failure: 10 s, 20 s, 40 s, … capped at an hour."""
    return min(RETRY_BASE * 2 ** min(max(attempts - 1, 0), 16), RETRY_CAP)


async def schedule(
    session: AsyncSession, *, kind: str, key: str, run_at: datetime, payload: dict[str, Any]
) -> None:
    """Insert the job for ``key``, or reset the existing one (whatever its status) to pending
    with the new time and payload. One statement (``ON CONFLICT (key) DO UPDATE``), so two
    transactions scheduling the same key at once cannot make two rows."""
    if run_at.tzinfo is None:
        raise ValueError("naive run_at; use mercato.kit.clock")
    values: dict[str, Any] = {
        "kind": kind,
        "key": key,
        "payload": payload,
        "run_at": run_at,
        "status": PENDING,
        "attempts": 0,
        "last_error": None,
        "locked_until": None,
    }
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    stmt = insert(Job).values(**values)
    stmt = stmt.on_conflict_do_update(
        index_elements=[Job.key],
        set_={name: stmt.excluded[name] for name in values if name != "key"},
    )
    await session.execute(stmt)


async def cancel(session: AsyncSession, key: str) -> None:
    """Delete the pending job for ``key``, if any (done and dead rows are history)."""
    await session.execute(delete(Job).where(Job.key == key, Job.status == PENDING))


@dataclass(frozen=True)
class _Claim:
    id: int
    kind: str
    lease: datetime


def _due(now: datetime, kinds: list[str]) -> Any:
    return (
        select(Job)
        .where(
            Job.status == PENDING,
            Job.run_at <= now,
            or_(Job.locked_until.is_(None), Job.locked_until < now),
            Job.kind.in_(kinds),
        )
        .order_by(Job.run_at, Job.id)
    )


async def _claim(db: Database, limit: int) -> list[_Claim]:
    kinds = registered_kinds()
    if not kinds:
        return []
    now = utcnow()
    # Look before taking the write lock: on SQLite an idle poll must not queue for the one
    # writer connection every second.
    async with db.read() as session:
        if (await session.scalar(_due(now, kinds).with_only_columns(Job.id).limit(1))) is None:
            return []
    lease = now + LEASE
    async with db.write() as session:
        jobs = list(
            await session.scalars(_due(now, kinds).limit(limit).with_for_update(skip_locked=True))
        )
        if not jobs:
            return []
        await session.execute(
            update(Job).where(Job.id.in_([job.id for job in jobs])).values(locked_until=lease)
        )
    return [_Claim(job.id, job.kind, lease) for job in jobs]


async def _locked(session: AsyncSession, claim: _Claim) -> Job | None:
    """The claimed job, row-locked, if it still carries our lease (not rescheduled or gone)."""
    job = await session.scalar(
        select(Job)
        .where(Job.id == claim.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if job is None or job.status != PENDING or job.locked_until != claim.lease:
        return None
    return job


async def _run_one(db: Database, claim: _Claim, *, worker: str, max_attempts: int) -> bool:
    """Run one claimed job; True when its handler ran (successfully or not)."""
    fn = _handlers.get(claim.kind)
    if fn is None:  # unregistered since the claim: leave it, the lease runs out
        return False
    ran = False
    try:
        async with db.write() as session:
            job = await _locked(session, claim)
            if job is None:
                return False
            ran = True
            await fn(session, dict(job.payload))
            # Only a row that still carries our lease is done: the handler may have scheduled
            # its own key again (a repeating timer; the lease is cleared) or cancelled it.
            await session.execute(
                update(Job)
                .where(Job.id == claim.id, Job.locked_until == claim.lease)
                .values(status=DONE, last_error=None, locked_until=None)
                .execution_options(synchronize_session=False)
            )
    except Exception as exc:
        if not ran:
            raise
        await _record_failure(db, claim, exc, worker=worker, max_attempts=max_attempts)
    return ran


async def _record_failure(
    db: Database, claim: _Claim, exc: Exception, *, worker: str, max_attempts: int
) -> None:
    async with db.write() as session:
        job = await _locked(session, claim)
        if job is None:
            return
        job.attempts += 1
        job.last_error = repr(exc)[:ERROR_CHARS]
        job.locked_until = None
        if job.attempts >= max_attempts:
            job.status = DEAD
            log.error(
                "job %s (%s) is dead after %d attempts [%s]: %r",
                job.key,
                job.kind,
                job.attempts,
                worker,
                exc,
            )
        else:
            job.run_at = utcnow() + backoff(job.attempts)
            log.warning(
                "job %s (%s) failed, attempt %d [%s]: %r",
                job.key,
                job.kind,
                job.attempts,
                worker,
                exc,
            )


def default_worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


async def run_due(
    db: Database,
    *,
    limit: int = 100,
    worker: str | None = None,
    max_attempts: int = MAX_ATTEMPTS,
) -> int:
    """Claim up to ``limit`` due jobs and run each in its own write unit of work.

    Returns how many handlers ran (succeeded or failed). ``worker`` names this process in the
    logs (default host:pid). A failure is recorded on the job, not raised.
    """
    worker = worker or default_worker_name()
    ran = 0
    for claim in await _claim(db, limit):
        if await _run_one(db, claim, worker=worker, max_attempts=max_attempts):
            ran += 1
    return ran


async def run_until_idle(db: Database, *, max_rounds: int = 100, **kwargs: Any) -> int:
    """Run due jobs until none is left (jobs may schedule more); for tests and scripts."""
    total = 0
    for _ in range(max_rounds):
        ran = await run_due(db, **kwargs)
        if ran == 0:
            return total
        total += ran
    raise RuntimeError(f"jobs still due after {max_rounds} rounds; a job reschedules itself?")


class JobRunner:
    """Polls ``run_due`` every ``interval`` seconds in an asyncio task.

    Errors are logged, never raised, so a database hiccup does not stop the timers. ``stop``
    lets the current round finish for up to ``grace`` seconds, then cancels it: a cancelled
    job's unit of work rolls back and its lease expires, so it runs again later.
    """

    def __init__(
        self,
        db: Database,
        *,
        interval: float = 1.0,
        limit: int = 100,
        worker: str | None = None,
        grace: float = 10.0,
    ) -> None:
        self.db = db
        self.interval = interval
        self.limit = limit
        self.worker = worker or default_worker_name()
        self.grace = grace
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    async def start(self) -> None:
        if self.running:
            return
        self._stopping.clear()
        self._task = asyncio.create_task(self._loop(), name=f"jobs:{self.worker}")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is None:
            return
        self._stopping.set()
        try:
            await asyncio.wait_for(task, timeout=self.grace)
        except TimeoutError:
            log.warning("job runner %s cancelled after %.1f s grace", self.worker, self.grace)

    async def _loop(self) -> None:
        log.info("job runner %s started (every %.2f s)", self.worker, self.interval)
        while not self._stopping.is_set():
            ran = 0
            try:
                ran = await run_due(self.db, limit=self.limit, worker=self.worker)
            except Exception:
                log.exception("job runner %s: run_due failed", self.worker)
            if ran >= self.limit:
                continue  # a full batch: more may be due right away
            with contextlib.suppress(TimeoutError):  # the interval passed: poll again
                await asyncio.wait_for(self._stopping.wait(), timeout=self.interval)
        log.info("job runner %s stopped", self.worker)
