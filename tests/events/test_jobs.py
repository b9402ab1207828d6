from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.events import (
    JobRunner,
    backoff,
    cancel,
    events_of,
    handler,
    record_event,
    run_due,
    run_until_idle,
    schedule,
)
from mercato.events import jobs as jobs_module
from mercato.kit.clock import clock, utcnow
from mercato.kit.db import Database
from mercato.models import Job, OutboxEvent

Register = Callable[[jobs_module.Handler], str]


async def _side_effect(session: AsyncSession, payload: dict[str, Any]) -> None:
    """A handler whose runs can be counted: one outbox row per run, subject from the payload."""
    await record_event(
        session,
        topic="test_job_ran",
        subject=payload["subject"],
        seq=1,
        user_id=None,
        user_nick=None,
        content=payload,
    )


async def _jobs(db: Database) -> list[Job]:
    async with db.read() as session:
        return list(await session.scalars(select(Job).order_by(Job.id)))


async def _runs(db: Database, subject: str) -> int:
    async with db.read() as session:
        return len(await events_of(session, subject))


async def _schedule(db: Database, kind: str, key: str, delay: timedelta, **payload: Any) -> None:
    async with db.write() as session:
        await schedule(session, kind=kind, key=key, run_at=utcnow() + delay, payload=payload)


async def test_scheduling_a_key_again_replaces_the_job(db: Database, register: Register) -> None:
    kind = register(_side_effect)
    await _schedule(db, kind, "close:1", timedelta(hours=1), subject="a")
    await _schedule(db, kind, "close:1", timedelta(hours=2), subject="b")
    await _schedule(db, kind, "close:2", timedelta(hours=1), subject="c")
    rows = await _jobs(db)
    assert [(j.key, j.payload["subject"], j.status, j.attempts) for j in rows] == [
        ("close:1", "b", "pending", 0),
        ("close:2", "c", "pending", 0),
    ]
    assert rows[0].run_at > utcnow() + timedelta(minutes=90)

    async with db.write() as session:
        await cancel(session, "close:1")
        await cancel(session, "no-such-key")
    assert [j.key for j in await _jobs(db)] == ["close:2"]


async def test_a_done_or_dead_key_can_be_scheduled_again(db: Database, register: Register) -> None:
    kind = register(_side_effect)
    await _schedule(db, kind, "k", timedelta(0), subject="s")
    assert await run_due(db) == 1
    async with db.write() as session:
        await cancel(session, "k")  # cancel leaves history alone
    [done] = await _jobs(db)
    assert done.status == "done"
    await _schedule(db, kind, "k", timedelta(0), subject="s")
    [again] = await _jobs(db)
    assert (again.id, again.status, again.attempts) == (done.id, "pending", 0)
    assert await run_due(db) == 1
    assert await _runs(db, "s") == 2


async def test_a_handler_can_schedule_its_own_key_again(
    db: Database, register: Register, moving_clock: None
) -> None:
    # given a repeating timer that records a run and comes back an hour later, three times
    async def repeat(session: AsyncSession, payload: dict[str, Any]) -> None:
        await _side_effect(session, payload)
        if payload["left"] > 1:
            left = payload["left"] - 1
            await schedule(
                session,
                kind=kind,
                key="repeat",
                run_at=utcnow() + timedelta(hours=1),
                payload={**payload, "left": left},
            )

    kind = register(repeat)
    await _schedule(db, kind, "repeat", timedelta(0), subject="r", left=3)
    # when the clock moves an hour between rounds
    for _ in range(5):
        await run_due(db)
        clock.advance(timedelta(hours=1, seconds=1))
    # then it ran three times and is done
    assert await _runs(db, "r") == 3
    [job] = await _jobs(db)
    assert (job.status, job.payload["left"]) == ("done", 1)


async def test_naive_run_at_is_refused(db: Database, register: Register) -> None:
    kind = register(_side_effect)
    with pytest.raises(ValueError, match="naive"):
        async with db.write() as session:
            await schedule(
                session, kind=kind, key="k", run_at=utcnow().replace(tzinfo=None), payload={}
            )


async def test_a_job_runs_when_its_time_comes(
    db: Database, register: Register, moving_clock: None
) -> None:
    kind = register(_side_effect)
    await _schedule(db, kind, "confirm:1", timedelta(days=10), subject="trade:1")
    assert await run_due(db) == 0
    clock.advance(timedelta(days=10, seconds=-5))
    assert await run_due(db) == 0
    clock.advance(timedelta(seconds=10))
    assert await run_due(db) == 1
    assert await run_due(db) == 0
    [job] = await _jobs(db)
    assert (job.status, job.attempts, job.locked_until, job.last_error) == ("done", 0, None, None)
    async with db.read() as session:
        [event] = await events_of(session, "trade:1")
    assert event.content == {"subject": "trade:1"}


async def test_a_failing_job_backs_off_then_dies_with_its_work_rolled_back(
    db: Database, register: Register, moving_clock: None
) -> None:
    async def failing(session: AsyncSession, payload: dict[str, Any]) -> None:
        await _side_effect(session, payload)  # written, then rolled back with the failure
        raise RuntimeError("payment gateway down")

    kind = register(failing)
    await _schedule(db, kind, "refund:1", timedelta(0), subject="refund:1")
    for attempt in (1, 2):
        assert await run_due(db, max_attempts=3) == 1
        [job] = await _jobs(db)
        assert (job.status, job.attempts, job.locked_until) == ("pending", attempt, None)
        assert job.last_error == "RuntimeError('payment gateway down')"
        wait = backoff(attempt)
        assert wait == timedelta(seconds=10 * 2 ** (attempt - 1))
        assert utcnow() + wait - timedelta(seconds=5) < job.run_at <= utcnow() + wait
        assert await run_due(db, max_attempts=3) == 0  # not again before the backoff
        clock.advance(wait)
    assert await run_due(db, max_attempts=3) == 1
    [job] = await _jobs(db)
    assert (job.status, job.attempts) == ("dead", 3)
    clock.advance(timedelta(days=1))
    assert await run_due(db, max_attempts=3) == 0  # a dead letter is never retried
    assert await _runs(db, "refund:1") == 0


def test_backoff_doubles_up_to_an_hour() -> None:
    assert [backoff(n).total_seconds() for n in range(1, 6)] == [10, 20, 40, 80, 160]
    assert backoff(9) == timedelta(seconds=2560)
    assert backoff(10) == backoff(50) == timedelta(hours=1)
    assert jobs_module.MAX_ATTEMPTS == 8


async def test_one_failing_job_does_not_stop_the_others(db: Database, register: Register) -> None:
    async def failing(session: AsyncSession, payload: dict[str, Any]) -> None:
        raise ValueError("bad")

    bad, good = register(failing), register(_side_effect)
    await _schedule(db, bad, "bad", timedelta(0))
    await _schedule(db, good, "good", timedelta(0), subject="good")
    assert await run_until_idle(db) == 2
    statuses = {j.key: (j.status, j.attempts) for j in await _jobs(db)}
    assert statuses == {"bad": ("pending", 1), "good": ("done", 0)}
    assert await _runs(db, "good") == 1


async def test_jobs_without_a_handler_here_are_left_alone(db: Database, register: Register) -> None:
    await _schedule(db, "test.unregistered", "other", timedelta(0))
    register(_side_effect)  # some handler exists, just not for that kind
    assert await run_due(db) == 0
    [job] = await _jobs(db)
    assert (job.status, job.attempts, job.locked_until) == ("pending", 0, None)


def test_a_kind_has_one_handler(register: Register) -> None:
    kind = register(_side_effect)
    with pytest.raises(ValueError, match="already registered"):
        handler(kind)(_side_effect)


async def test_a_job_rescheduled_after_its_claim_is_not_run_early(
    db: Database, register: Register
) -> None:
    kind = register(_side_effect)
    await _schedule(db, kind, "close:7", timedelta(0), subject="close:7")
    [claim] = await jobs_module._claim(db, 10)
    await _schedule(db, kind, "close:7", timedelta(hours=1), subject="close:7")
    assert not await jobs_module._run_one(db, claim, worker="w", max_attempts=8)
    [job] = await _jobs(db)
    assert (job.status, job.locked_until) == ("pending", None)
    assert await _runs(db, "close:7") == 0


async def test_a_cancelled_claim_is_not_run(db: Database, register: Register) -> None:
    kind = register(_side_effect)
    await _schedule(db, kind, "close:8", timedelta(0), subject="close:8")
    [claim] = await jobs_module._claim(db, 10)
    async with db.write() as session:
        await cancel(session, "close:8")
    assert not await jobs_module._run_one(db, claim, worker="w", max_attempts=8)
    assert await _jobs(db) == []


async def test_an_expired_lease_is_claimed_again(
    db: Database, register: Register, moving_clock: None
) -> None:
    kind = register(_side_effect)
    await _schedule(db, kind, "k", timedelta(0), subject="k")
    assert len(await jobs_module._claim(db, 10)) == 1  # a worker claims, then dies
    assert await run_due(db) == 0  # leased to that worker
    clock.advance(jobs_module.LEASE + timedelta(seconds=1))
    assert await run_due(db) == 1
    assert await _runs(db, "k") == 1


async def test_a_restart_loses_no_timer(
    database_url: str, register: Register, moving_clock: None
) -> None:
    kind = register(_side_effect)
    first = Database(database_url)
    try:
        async with first.write() as session:
            await session.execute(Job.__table__.delete())  # the db fixture is not in use here
            await session.execute(OutboxEvent.__table__.delete())
        await _schedule(first, kind, "close:1", timedelta(minutes=30), subject="close:1")
    finally:
        await first.dispose()
    clock.advance(timedelta(hours=1))
    second = Database(database_url)
    try:
        assert await run_due(second) == 1
        assert await _runs(second, "close:1") == 1
    finally:
        await second.dispose()


async def test_the_runner_runs_due_jobs_in_the_background(db: Database, register: Register) -> None:
    kind = register(_side_effect)
    runner = JobRunner(db, interval=0.02)
    await runner.start()
    try:
        assert runner.running
        await _schedule(db, kind, "k", timedelta(0), subject="k")
        for _ in range(250):
            if await _runs(db, "k"):
                break
            await asyncio.sleep(0.02)
    finally:
        await runner.stop()
    assert not runner.running
    assert await _runs(db, "k") == 1
    await runner.stop()  # stopping twice is harmless


async def test_the_runner_survives_errors(register: Register, tmp_path: Any) -> None:
    register(_side_effect)
    broken = Database(f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}")  # no tables: run_due fails
    runner = JobRunner(broken, interval=0.01)
    try:
        await runner.start()
        await asyncio.sleep(0.1)
        assert runner.running
    finally:
        await runner.stop()
        await broken.dispose()


async def test_concurrent_workers_run_each_job_once(
    db: Database, database_url: str, register: Register
) -> None:
    """Several workers (Database instances, as separate processes would have) on one database:
    SKIP LOCKED splits the jobs on PostgreSQL; on SQLite the file's write lock serialises."""

    async def slow(session: AsyncSession, payload: dict[str, Any]) -> None:
        await asyncio.sleep(0.005)  # let the other worker interleave
        await _side_effect(session, payload)

    kind = register(slow)
    for n in range(60):
        await _schedule(db, kind, f"job:{n}", timedelta(0), subject=f"job:{n}")
    workers = [Database(database_url) for _ in range(3)]
    try:
        counts = await asyncio.gather(
            *(run_until_idle(w, limit=7, worker=f"w{i}") for i, w in enumerate(workers))
        )
    finally:
        for w in workers:
            await w.dispose()
    assert sum(counts) == 60
    if not db.is_sqlite:
        assert sum(1 for c in counts if c) >= 2  # the work really was shared
    async with db.read() as session:
        per_subject = (
            await session.execute(
                select(OutboxEvent.subject, func.count()).group_by(OutboxEvent.subject)
            )
        ).all()
    assert len(per_subject) == 60 and all(n == 1 for _, n in per_subject)
    assert {j.status for j in await _jobs(db)} == {"done"}
