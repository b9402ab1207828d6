"""The call log (every call, errors too, written in batches off the hot path), its
retention, and the statistics the console shows — on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import event, func, select

from mercato.gateway import hooks, stats
from mercato.gateway.calllog import CallLog, CallRecord, purge_older_than
from mercato.gateway.flowcontrol import FlowControl, tier_table
from mercato.kit.clock import utcnow
from mercato.kit.db import Database
from mercato.kit.errors import NotFound
from mercato.models import ApiCall, Role
from tests.conftest import truncate_all
from tests.factories.accounts import make_user
from tests.factories.calls import Call, add_calls
from tests.factories.gateway import make_app
from tests.gateway.conftest import World, signed, system

SELLER = "mercato.test.seller.echo"


@pytest.fixture
async def backend_db(database_url: str) -> AsyncIterator[Database]:
    """A migrated, empty database on each backend (the gateway's ``db`` is SQLite only)."""
    database = Database(database_url)
    if not database.is_sqlite:
        await truncate_all(database)
    try:
        yield database
    finally:
        await database.dispose()


def record(n: int, **extra: Any) -> CallRecord:
    values: dict[str, Any] = {
        "request_id": f"r{n}",
        "app_id": None,
        "method": "taobao.time.get",
        "user_id": None,
        "code": 0,
        "sub_code": None,
        "latency_us": 1000 + n,
        "called_at": utcnow(),
    }
    values.update(extra)
    return CallRecord.of(**values)


class InsertCounter:
    """Counts INSERTs into api_calls that reach the driver (an executemany is one)."""

    def __init__(self, db: Database) -> None:
        self.engine = db.write_engine.sync_engine
        self.count = 0

    def __call__(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO API_CALLS"):
            self.count += 1


@pytest.fixture
def inserts(backend_db: Database) -> Iterator[InsertCounter]:
    counter = InsertCounter(backend_db)
    event.listen(counter.engine, "before_cursor_execute", counter)
    yield counter
    event.remove(counter.engine, "before_cursor_execute", counter)


async def rows(db: Database) -> list[ApiCall]:
    async with db.read() as session:
        return list(await session.scalars(select(ApiCall).order_by(ApiCall.id)))


# --- recording through the gateway -----------------------------------------------------


async def test_every_call_is_recorded(
    app: FastAPI, client: httpx.AsyncClient, world: World, db: Database
) -> None:
    # given a success, a bad signature, an unknown method and an unknown app key
    ok = signed(system(world, SELLER, session=world.seller_token, title="t"), world.secret)
    await client.post("/router/rest", data=ok)
    bad = signed(system(world, SELLER, session=world.seller_token, title="t"), "wrong")
    await client.post("/router/rest", data=bad)
    await client.post("/router/rest", data=signed(system(world, "no.such.method"), world.secret))
    await client.post(
        "/router/rest", data=signed(system(world, SELLER, app_key="999"), world.secret)
    )
    await client.post(
        f"/api/v1/{SELLER}",
        json={"title": "x"},
        headers={"Authorization": f"Bearer {world.seller_token}"},
    )
    # when the log is flushed
    await app.state.call_log.flush()
    # then each call is a row
    got = [(r.method, r.code, r.sub_code, r.app_id) for r in await rows(db)]
    assert got == [
        (SELLER, 0, "", world.app.id),
        (SELLER, 25, "isv.invalid-signature", world.app.id),
        ("no.such.method", 22, "isv.invalid-method", None),
        (SELLER, 29, "isv.appkey-not-exists", None),
        (SELLER, 0, "", world.app.id),
    ]
    first = (await rows(db))[0]
    assert first.user_id is not None and first.latency_us > 0 and first.request_id
    assert app.state.call_log.dropped == 0


async def test_flow_control_refusals_are_recorded(
    app: FastAPI, client: httpx.AsyncClient, world: World, db: Database
) -> None:
    flow = FlowControl(
        tier_table({"development": {"per_method_per_second": 1}}), zone=app.state.settings.zone
    )
    hooks.attach(db, flow=flow, calls=app.state.call_log)
    for _ in range(2):
        params = signed(system(world, SELLER, session=world.seller_token, title="t"), world.secret)
        await client.post("/router/rest", data=params)
    await app.state.call_log.flush()
    assert [(r.code, r.sub_code) for r in await rows(db)] == [
        (0, ""),
        (7, "accesscontrol.limited-by-app-api-access-count"),
    ]


# --- batching, the queue, the writer -----------------------------------------------------


async def test_calls_are_written_in_batches(backend_db: Database, inserts: InsertCounter) -> None:
    log = CallLog(backend_db, batch_size=500)
    for n in range(120):
        assert log.record(record(n))
    # one flush of 120 calls is one insert round
    assert await log.flush() == 120
    assert inserts.count == 1
    # 1,100 calls are three (500 + 500 + 100)
    for n in range(1100):
        log.record(record(n))
    await log.flush()
    assert inserts.count == 4
    async with backend_db.read() as session:
        assert await session.scalar(select(func.count()).select_from(ApiCall)) == 1220


async def test_full_queue_drops_and_counts(backend_db: Database) -> None:
    log = CallLog(backend_db, capacity=3)
    accepted = [log.record(record(n)) for n in range(5)]
    assert accepted == [True, True, True, False, False]
    assert (log.pending, log.dropped) == (3, 2)
    await log.flush()
    assert log.pending == 0
    assert log.record(record(9))  # room again


async def test_writer_task_flushes_on_batch_and_on_stop(backend_db: Database) -> None:
    log = CallLog(backend_db, batch_size=2, interval=30.0)
    await log.start()
    log.record(record(1))
    log.record(record(2))  # a full batch wakes the writer
    for _ in range(100):
        if log.written == 2:
            break
        await asyncio.sleep(0.01)
    assert log.written == 2
    log.record(record(3))  # less than a batch: written on stop
    await log.stop()
    assert len(await rows(backend_db)) == 3


async def test_long_values_are_clipped() -> None:
    rec = record(1, method="x" * 500, sub_code="y" * 500, request_id="z" * 99, latency_us=-5)
    assert (len(rec.method), len(rec.sub_code), len(rec.request_id)) == (100, 100, 32)
    assert rec.latency_us == 0


async def test_purge_keeps_recent_calls(backend_db: Database) -> None:
    now = utcnow()
    async with backend_db.write() as session:
        await add_calls(
            session,
            None,
            [
                Call("old", 1, now - timedelta(days=31)),
                Call("edge", 1, now - timedelta(days=29)),
                Call("new", 1, now),
            ],
        )
    assert await purge_older_than(backend_db, 30) == 1
    assert [r.method for r in await rows(backend_db)] == ["edge", "new"]


# --- statistics ---------------------------------------------------------------------------


async def test_stats_on_known_data(backend_db: Database) -> None:
    # given two owners; alice's app made 100 "items" calls (latency 1..100 ms, every
    # tenth failed) and 3 "time" calls in two hours, plus one call outside the range
    base = datetime(2026, 3, 1, 4, 0, tzinfo=UTC)
    async with backend_db.write() as session:
        alice = await make_user(session, "st_alice", {Role.seller})
        bob = await make_user(session, "st_bob")
        app, _ = await make_app(session, alice)
        bobs_app, _ = await make_app(session, bob)
        items = [
            Call(
                "taobao.items.onsale.get",
                ms * 1000,
                base + timedelta(minutes=ms % 60, hours=ms // 60),
                code=15 if ms % 10 == 0 else 0,
                sub_code="isv.not-found" if ms % 10 == 0 else "",
            )
            for ms in range(1, 101)
        ]
        times = [Call("taobao.time.get", 500, base + timedelta(minutes=5))] * 3
        ids = await add_calls(session, app, items + times)
        await add_calls(session, app, [Call("taobao.time.get", 1, base - timedelta(hours=2))])
        await add_calls(session, bobs_app, [Call("taobao.time.get", 1, base)])
    # when alice asks for 04:00–07:00 UTC
    async with backend_db.read() as session:
        result = await stats.app_call_stats(
            session, alice, app.id, since=base, until=base + timedelta(hours=3), error_limit=4
        )
    # then
    by_method = {m.method: m for m in result.methods}
    onsale = by_method["taobao.items.onsale.get"]
    assert (onsale.calls, onsale.errors) == (100, 10)
    assert onsale.success_rate == pytest.approx(0.9)
    assert (onsale.p50_us, onsale.p99_us) == (50_000, 99_000)
    clock_m = by_method["taobao.time.get"]
    assert (clock_m.calls, clock_m.errors, clock_m.p50_us, clock_m.p99_us) == (3, 0, 500, 500)
    assert result.methods[0].method == "taobao.items.onsale.get"  # busiest first
    assert result.calls == 103
    assert result.success_rate == pytest.approx(93 / 103)
    # 1..59 min in hour 0 (+3 time calls), 60..100 in hour 1, nothing in hour 2
    assert [(h.start.hour, h.calls, h.errors) for h in result.hours] == [
        (4, 59 + 3, 5),
        (5, 41, 5),
        (6, 0, 0),
    ]
    # the latest errors, newest first: 100, 90, 80, 70 ms
    assert [e.called_at for e in result.errors] == [
        base + timedelta(minutes=ms % 60, hours=ms // 60) for ms in (100, 90, 80, 70)
    ]
    assert result.errors[0].request_id == ids[99]
    assert {(e.code, e.sub_code, e.method) for e in result.errors} == {
        (15, "isv.not-found", "taobao.items.onsale.get")
    }
    # and bob cannot read alice's app
    async with backend_db.read() as session:
        with pytest.raises(NotFound):
            await stats.app_call_stats(
                session, bob, app.id, since=base, until=base + timedelta(hours=3)
            )


def test_percentile_nearest_rank() -> None:
    assert stats.percentile([], 50) == 0
    assert stats.percentile([7], 99) == 7
    assert stats.percentile([1, 2, 3, 4], 50) == 2
    assert stats.percentile(list(range(1, 1001)), 99) == 990
