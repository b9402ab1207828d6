"""The trade timers follow the timeouts their caller passes (built from settings), and the
older keyword parameters still win when given."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import select

import mercato.trade.timers  # noqa: F401  (registers the handlers)
from mercato.events import jobs
from mercato.kit.clock import clock
from mercato.ledger.service import deposit
from mercato.models import Job, Trade
from mercato.refunds import service as refunds
from mercato.trade import service as trade
from mercato.trade.policy import Timeouts
from tests.trade.conftest import Shop2

FAST = Timeouts(
    close_unpaid=timedelta(minutes=5),
    auto_confirm=timedelta(days=2),
    refund_agree=timedelta(days=1),
)


@pytest.fixture(autouse=True)
def _reset_clock() -> Iterator[None]:
    yield
    clock.reset()


async def _checkout(w: Shop2, key: str, **kwargs: object) -> Trade:
    async with w.db.write() as session:
        trades = await trade.checkout(
            session,
            w.buyer,
            lines=[(w.dress.id, w.red_m.id, 1)],
            address_id=w.address.id,
            checkout_key=key,
            **kwargs,  # type: ignore[arg-type]
        )
        await deposit(session, w.buyer.id, 100_000, key=f"dep-{key}")
    return trades[0]


async def _job(w: Shop2, key: str) -> Job:
    async with w.db.read() as session:
        job = await session.scalar(select(Job).where(Job.key == key))
        assert job is not None
        return job


async def _status(w: Shop2, tid: int) -> str:
    async with w.db.read() as session:
        t = await session.get(Trade, tid)
        assert t is not None
        return t.status


async def test_checkout_closes_unpaid_after_the_configured_minutes(w: Shop2) -> None:
    t = await _checkout(w, "fast", timeouts=FAST)
    assert t.timeout_action_time == t.created + timedelta(minutes=5)
    assert (await _job(w, trade.close_job_key(t.id))).run_at == t.created + timedelta(minutes=5)
    clock.advance(timedelta(minutes=4))
    await jobs.run_until_idle(w.db)
    assert await _status(w, t.id) == "WAIT_BUYER_PAY"
    clock.advance(timedelta(minutes=2))
    await jobs.run_until_idle(w.db)
    assert await _status(w, t.id) == "TRADE_CLOSED_BY_TAOBAO"


async def test_close_after_still_wins_over_timeouts(w: Shop2) -> None:
    t = await _checkout(w, "kw", close_after=timedelta(hours=2), timeouts=FAST)
    assert (await _job(w, trade.close_job_key(t.id))).run_at == t.created + timedelta(hours=2)
    t2 = await _checkout(w, "default")
    assert (await _job(w, trade.close_job_key(t2.id))).run_at == t2.created + timedelta(minutes=30)


async def test_ship_and_refund_follow_the_timeouts(w: Shop2) -> None:
    t = await _checkout(w, "ship")
    async with w.db.write() as session:
        await trade.pay(session, w.buyer, [t.id], key="pay-ship")
    async with w.db.write() as session:
        shipped = await trade.ship(session, w.alice, t.id, timeouts=FAST)
        assert shipped.consign_time is not None
        assert shipped.timeout_action_time == shipped.consign_time + timedelta(days=2)
    async with w.db.write() as session:
        r = await refunds.request_refund(
            session,
            w.buyer,
            tid=t.id,
            oid=t.orders[0].id,
            dispute_type="REFUND",
            refund_fee=100,
            reason="test",
            timeouts=FAST,
        )
        assert r.timeout_action_time == r.created + timedelta(days=1)
    async with w.db.write() as session:
        r2 = await refunds.seller_refuse(session, w.alice, r.id, "no")
        assert r2.timeout_action_time is None
    t3 = await _checkout(w, "ship-kw")
    async with w.db.write() as session:
        await trade.pay(session, w.buyer, [t3.id], key="pay-ship-kw")
    async with w.db.write() as session:
        shipped = await trade.ship(
            session, w.alice, t3.id, auto_confirm_after=timedelta(days=1), timeouts=FAST
        )
        assert shipped.consign_time is not None
        assert shipped.timeout_action_time == shipped.consign_time + timedelta(days=1)
