"""After-sales timers: the auto-confirm timer pauses while a refund is open, a return the
buyer never sends closes, returned goods the seller never confirms are refunded, and the
buyer's return waybill is checked like a seller's shipping waybill. The clock is moved,
never slept."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from mercato import timers  # noqa: F401  (registers every job handler)
from mercato.events import jobs
from mercato.kit.clock import clock, utcnow
from mercato.kit.errors import ValidationFailed
from mercato.models import Job, Trade
from mercato.refunds import service as refunds
from mercato.trade import service as trade
from mercato.trade.policy import Timeouts
from tests.refunds.test_refunds import (
    DEPOSIT,
    _ask,
    _money,
    _paid,
    _refund,
    _snapshot,
    _topics,
    _trade,
)
from tests.trade.conftest import Shop2

DAY = timedelta(days=1)
SF_RETURN = "SF000000000001"


@pytest.fixture(autouse=True)
def _reset_clock() -> Iterator[None]:
    yield
    clock.reset()


async def _shipped(w: Shop2, **kwargs: object) -> Trade:
    t = await _paid(w, **kwargs)  # type: ignore[arg-type]
    async with w.db.write() as session:
        await trade.ship(session, w.alice, t.id, company="SF", invoice_no="SF123456789012")
    return await _trade(w.db, t.id)


async def _job(w: Shop2, key: str) -> Job | None:
    async with w.db.read() as session:
        return await session.scalar(select(Job).where(Job.key == key, Job.status == "pending"))


def _near(moment: datetime | None, expected: datetime) -> bool:
    """The real clock ticks under the moved one: times are compared to the minute."""
    return moment is not None and abs(moment - expected) < timedelta(minutes=1)


async def _status(w: Shop2, tid: int) -> str:
    return (await _trade(w.db, tid)).status


# ---------------------------------------------------------------- the paused receipt timer


async def test_an_open_refund_pauses_auto_confirm_and_closing_it_resumes(w: Shop2) -> None:
    t = await _shipped(w)
    assert t.timeout_action_time == t.consign_time + 10 * DAY  # type: ignore[operator]
    clock.advance(9 * DAY)
    rid = await _ask(w, t, fee=500)
    paused = await _trade(w.db, t.id)
    assert paused.timeout_action_time is None  # no set time while paused
    job = await _job(w, trade.confirm_job_key(t.id))
    assert job is not None
    assert abs(job.payload["paused_remaining"] - DAY.total_seconds()) < 60

    clock.advance(DAY + timedelta(hours=1))  # past day 10
    await jobs.run_until_idle(w.db)
    assert await _status(w, t.id) == "WAIT_BUYER_CONFIRM_GOODS"
    clock.advance(2 * DAY)  # rechecks find the refund still open
    await jobs.run_until_idle(w.db)
    assert await _status(w, t.id) == "WAIT_BUYER_CONFIRM_GOODS"
    assert (await _money(w.db, t))["escrow"] == 2000

    # The refund closes: the day that was left runs again (no minimum here).
    async with w.db.write() as session:
        await refunds.buyer_close(
            session, w.buyer, rid, timeouts=Timeouts(confirm_resume_min=timedelta())
        )
    resumed = await _trade(w.db, t.id)
    assert _near(resumed.timeout_action_time, utcnow() + DAY)
    clock.advance(DAY - timedelta(minutes=1))
    await jobs.run_until_idle(w.db)
    assert await _status(w, t.id) == "WAIT_BUYER_CONFIRM_GOODS"
    clock.advance(timedelta(minutes=2))
    await jobs.run_until_idle(w.db)
    done = await _trade(w.db, t.id)
    assert done.status == "TRADE_FINISHED"
    money = await _money(w.db, t)
    assert money["escrow"] == 0 and money["seller"] == 1900 and money["trial"] == 0
    assert (await _topics(w.db, f"trade:{t.id}"))[-1] == ("TradeSuccess", done.event_seq)


async def test_resume_gives_at_least_the_minimum(w: Shop2) -> None:
    t = await _shipped(w)
    clock.advance(9 * DAY + timedelta(hours=23))  # one hour left
    rid = await _ask(w, t, fee=500)
    async with w.db.write() as session:
        await refunds.buyer_close(session, w.buyer, rid)  # default minimum: 3 days
    assert _near((await _trade(w.db, t.id)).timeout_action_time, utcnow() + 3 * DAY)
    clock.advance(3 * DAY - timedelta(minutes=1))
    await jobs.run_until_idle(w.db)
    assert await _status(w, t.id) == "WAIT_BUYER_CONFIRM_GOODS"
    clock.advance(timedelta(minutes=2))
    await jobs.run_until_idle(w.db)
    assert await _status(w, t.id) == "TRADE_FINISHED"


async def test_the_timer_resumes_only_when_the_last_open_refund_ends(w: Shop2) -> None:
    t = await _shipped(w, lines=[(w.dress.id, w.red_m.id, 2), (w.dress.id, w.blue_l.id, 1)])
    clock.advance(2 * DAY)
    first = await _ask(w, t, fee=500, i=0)
    second = await _ask(w, t, i=1)  # two orders, two open refunds
    async with w.db.write() as session:
        await refunds.seller_refuse(session, w.alice, first, "不同意")  # still open
        await refunds.seller_agree(session, w.alice, second)  # SUCCESS, one still open
    assert (await _trade(w.db, t.id)).timeout_action_time is None
    clock.advance(20 * DAY)
    await jobs.run_until_idle(w.db)
    assert await _status(w, t.id) == "WAIT_BUYER_CONFIRM_GOODS"
    async with w.db.write() as session:
        await refunds.buyer_close(session, w.buyer, first)  # the last one: 8 days were left
    assert _near((await _trade(w.db, t.id)).timeout_action_time, utcnow() + 8 * DAY)
    clock.advance(8 * DAY + timedelta(minutes=1))
    await jobs.run_until_idle(w.db)
    assert await _status(w, t.id) == "TRADE_FINISHED"
    # the seller gets what the orders kept, less 5 %: 2000 + 0 → 1900
    assert (await _money(w.db, t))["seller"] == 1900


async def test_extension_survives_a_pause_and_is_refused_while_paused(w: Shop2) -> None:
    t = await _shipped(w)
    async with w.db.write() as session:
        await trade.extend_receive_time(session, w.buyer, t.id)  # 13 days now
    clock.advance(DAY)
    rid = await _ask(w, t, fee=500)
    async with w.db.write() as session:
        await refunds.buyer_close(session, w.buyer, rid)
    assert _near((await _trade(w.db, t.id)).timeout_action_time, utcnow() + 12 * DAY)
    with pytest.raises(Exception) as err:
        async with w.db.write() as session:
            await trade.extend_receive_time(session, w.buyer, t.id)
    assert getattr(err.value, "code", None) == "already_extended"

    other = await _shipped(w, key="k2")
    rid2 = await _ask(w, other, fee=500)
    with pytest.raises(Exception) as err:
        async with w.db.write() as session:
            await trade.extend_receive_time(session, w.buyer, other.id)
    assert getattr(err.value, "code", None) == "illegal_transition"
    async with w.db.write() as session:
        await refunds.buyer_close(
            session, w.buyer, rid2, timeouts=Timeouts(confirm_resume_min=timedelta())
        )
    async with w.db.write() as session:  # never extended: the pause did not count as one
        await trade.extend_receive_time(session, w.buyer, other.id)
    assert _near((await _trade(w.db, other.id)).timeout_action_time, utcnow() + 13 * DAY)


async def test_shipping_with_an_open_refund_starts_the_timer_paused(w: Shop2) -> None:
    t = await _paid(w)
    rid = await _ask(w, t, fee=500)  # before shipping
    async with w.db.write() as session:
        await trade.ship(session, w.alice, t.id, company="SF", invoice_no="SF123456789012")
    assert (await _trade(w.db, t.id)).timeout_action_time is None
    clock.advance(4 * DAY)  # before the refund's own auto-agree (5 days)
    async with w.db.write() as session:
        await refunds.seller_refuse(session, w.alice, rid, "已发货")
    clock.advance(10 * DAY)
    await jobs.run_until_idle(w.db)
    assert await _status(w, t.id) == "WAIT_BUYER_CONFIRM_GOODS"  # refused is still open
    async with w.db.write() as session:
        await refunds.buyer_close(session, w.buyer, rid)
    assert _near((await _trade(w.db, t.id)).timeout_action_time, utcnow() + 10 * DAY)


async def test_a_paused_job_whose_refund_ended_resumes_by_itself(w: Shop2) -> None:
    """Belt and braces: if a refund ended without resuming the timer, the paused job's
    next look resumes it."""
    t = await _shipped(w)
    clock.advance(5 * DAY)
    rid = await _ask(w, t, fee=500)
    async with w.db.write() as session:
        r, tr = await refunds._locked(session, rid)
        r.status = "CLOSED"
        tr.orders[0].refund_status = "CLOSED"  # as a path that forgot to resume would
    clock.advance(5 * DAY)
    await jobs.run_until_idle(w.db)  # the paused job looks: nothing open, resumes 5 days
    assert _near((await _trade(w.db, t.id)).timeout_action_time, utcnow() + 5 * DAY)
    clock.advance(5 * DAY + timedelta(minutes=1))
    await jobs.run_until_idle(w.db)
    assert await _status(w, t.id) == "TRADE_FINISHED"


# ---------------------------------------------------------------- the buyer never returns


async def _return_agreed(w: Shop2, timeouts: Timeouts | None = None) -> tuple[Trade, int]:
    t = await _shipped(w)
    rid = await _ask(w, t, kind="REFUND_AND_RETURN")
    async with w.db.write() as session:
        await refunds.seller_agree(session, w.alice, rid, timeouts=timeouts)
    return t, rid


async def test_a_return_never_sent_closes_the_refund(w: Shop2) -> None:
    t, rid = await _return_agreed(w)
    r = await _refund(w.db, rid)
    assert r.status == "WAIT_BUYER_RETURN_GOODS"
    assert r.timeout_action_time == r.modified + 7 * DAY
    job = await _job(w, refunds.return_timeout_key(rid))
    assert job is not None and job.kind == "refund.return_timeout"
    clock.advance(7 * DAY - timedelta(minutes=1))
    await jobs.run_until_idle(w.db)
    assert (await _refund(w.db, rid)).status == "WAIT_BUYER_RETURN_GOODS"
    clock.advance(timedelta(minutes=2))
    await jobs.run_until_idle(w.db)
    r = await _refund(w.db, rid)
    assert (r.status, r.timeout_action_time) == ("CLOSED", None)
    tr = await _trade(w.db, t.id)
    assert tr.orders[0].refund_status == "CLOSED"
    assert [topic for topic, _ in await _topics(w.db, f"refund:{rid}")] == [
        "RefundCreated",
        "RefundSellerAgreeAgreement",
        "RefundClosed",
    ]
    assert (await _money(w.db, t))["escrow"] == 2000  # nothing paid out
    # the receipt timer was paused on day 0 with 10 days left: it runs again
    assert tr.status == "WAIT_BUYER_CONFIRM_GOODS"
    assert _near(tr.timeout_action_time, utcnow() + 10 * DAY)
    async with w.db.write() as session:  # late or twice: nothing more
        assert await refunds.return_timeout(session, rid) is None
    assert (await _refund(w.db, rid)).event_seq == 3


async def test_the_return_wait_is_configurable(w: Shop2) -> None:
    _, rid = await _return_agreed(w, Timeouts(refund_return=2 * DAY))
    clock.advance(2 * DAY + timedelta(minutes=1))
    await jobs.run_until_idle(w.db)
    assert (await _refund(w.db, rid)).status == "CLOSED"


async def test_an_auto_agreed_return_gets_its_timer_too(w: Shop2) -> None:
    t = await _shipped(w)
    rid = await _ask(w, t, kind="REFUND_AND_RETURN")
    clock.advance(5 * DAY + timedelta(minutes=1))
    await jobs.run_until_idle(w.db)
    assert (await _refund(w.db, rid)).status == "WAIT_BUYER_RETURN_GOODS"
    clock.advance(7 * DAY)
    await jobs.run_until_idle(w.db)
    assert (await _refund(w.db, rid)).status == "CLOSED"


async def test_sending_the_goods_back_cancels_the_return_timer(w: Shop2) -> None:
    _, rid = await _return_agreed(w)
    async with w.db.write() as session:
        await refunds.buyer_return_goods(session, w.buyer, rid, "sf", SF_RETURN.lower())
    assert await _job(w, refunds.return_timeout_key(rid)) is None
    r = await _refund(w.db, rid)
    assert (r.status, r.return_company, r.return_sid) == (
        "WAIT_SELLER_CONFIRM_GOODS",
        "SF",
        SF_RETURN,
    )
    clock.advance(7 * DAY + timedelta(minutes=1))
    await jobs.run_until_idle(w.db)
    assert (await _refund(w.db, rid)).status == "WAIT_SELLER_CONFIRM_GOODS"
    async with w.db.write() as session:
        assert await refunds.return_timeout(session, rid) is None


async def test_closing_a_return_cancels_its_timer(w: Shop2) -> None:
    _, rid = await _return_agreed(w)
    async with w.db.write() as session:
        await refunds.buyer_close(session, w.buyer, rid)
    assert await _job(w, refunds.return_timeout_key(rid)) is None


# ---------------------------------------------------------------- the seller never confirms


async def _goods_returned(w: Shop2, timeouts: Timeouts | None = None) -> tuple[Trade, int]:
    t, rid = await _return_agreed(w)
    async with w.db.write() as session:
        await refunds.buyer_return_goods(session, w.buyer, rid, "SF", SF_RETURN, timeouts=timeouts)
    return t, rid


async def test_returned_goods_never_confirmed_are_refunded(w: Shop2) -> None:
    t, rid = await _goods_returned(w)
    r = await _refund(w.db, rid)
    assert r.timeout_action_time == r.modified + 10 * DAY
    job = await _job(w, refunds.confirm_goods_key(rid))
    assert job is not None and job.kind == "refund.confirm_goods_timeout"
    clock.advance(10 * DAY - timedelta(minutes=1))
    await jobs.run_until_idle(w.db)
    assert (await _refund(w.db, rid)).status == "WAIT_SELLER_CONFIRM_GOODS"
    assert await _status(w, t.id) == "WAIT_BUYER_CONFIRM_GOODS"  # paused all this time
    clock.advance(timedelta(minutes=2))
    await jobs.run_until_idle(w.db)
    r = await _refund(w.db, rid)
    assert (r.status, r.timeout_action_time) == ("SUCCESS", None)
    # as a manual confirm: money back from escrow, the fully refunded trade closes
    money = await _money(w.db, t)
    assert money["wallet"] == DEPOSIT and money["escrow"] == 0 and money["seller"] == 0
    assert money["trial"] == 0 and money["unbalanced"] == 0
    tr = await _trade(w.db, t.id)
    assert tr.status == "TRADE_CLOSED" and tr.timeout_action_time is None
    assert await _job(w, trade.confirm_job_key(t.id)) is None
    assert [topic for topic, _ in await _topics(w.db, f"refund:{rid}")] == [
        "RefundCreated",
        "RefundSellerAgreeAgreement",
        "RefundBuyerReturnGoods",
        "RefundSuccess",
    ]
    assert (await _topics(w.db, f"trade:{t.id}"))[-1] == ("TradeClose", tr.event_seq)
    async with w.db.write() as session:  # late or twice: nothing more
        assert await refunds.confirm_goods_timeout(session, rid) is None
    assert (await _money(w.db, t))["wallet"] == DEPOSIT


async def test_a_partial_return_never_confirmed_resumes_the_receipt_timer(w: Shop2) -> None:
    t = await _shipped(w)
    clock.advance(3 * DAY)
    rid = await _ask(w, t, fee=800, kind="REFUND_AND_RETURN")  # 7 days were left
    async with w.db.write() as session:
        await refunds.seller_agree(session, w.alice, rid)
        await refunds.buyer_return_goods(session, w.buyer, rid, "SF", SF_RETURN)
    clock.advance(10 * DAY + timedelta(minutes=1))
    await jobs.run_until_idle(w.db)
    assert (await _refund(w.db, rid)).status == "SUCCESS"
    tr = await _trade(w.db, t.id)
    assert tr.status == "WAIT_BUYER_CONFIRM_GOODS"
    assert _near(tr.timeout_action_time, utcnow() + 7 * DAY)
    assert (await _money(w.db, t))["wallet"] == DEPOSIT - 2000 + 800
    clock.advance(7 * DAY)
    await jobs.run_until_idle(w.db)
    assert await _status(w, t.id) == "TRADE_FINISHED"
    assert (await _money(w.db, t))["seller"] == 1200 - 60


async def test_the_confirm_wait_is_configurable(w: Shop2) -> None:
    _, rid = await _goods_returned(w, Timeouts(refund_confirm=DAY))
    clock.advance(DAY + timedelta(minutes=1))
    await jobs.run_until_idle(w.db)
    assert (await _refund(w.db, rid)).status == "SUCCESS"


async def test_confirming_or_refusing_the_goods_cancels_the_timer(w: Shop2) -> None:
    t, rid = await _goods_returned(w)
    async with w.db.write() as session:
        await refunds.seller_refuse(session, w.alice, rid, "商品已损坏")
    assert await _job(w, refunds.confirm_goods_key(rid)) is None
    r = await _refund(w.db, rid)
    assert (r.status, r.timeout_action_time) == ("SELLER_REFUSE_BUYER", None)
    clock.advance(11 * DAY)
    await jobs.run_until_idle(w.db)
    assert (await _refund(w.db, rid)).status == "SELLER_REFUSE_BUYER"
    assert (await _money(w.db, t))["escrow"] == 2000

    clock.reset()
    t2 = await _shipped(w, key="k2")
    rid2 = await _ask(w, t2, kind="REFUND_AND_RETURN")
    async with w.db.write() as session:
        await refunds.seller_agree(session, w.alice, rid2)
        await refunds.buyer_return_goods(session, w.buyer, rid2, "SF", SF_RETURN)
    async with w.db.write() as session:
        await refunds.seller_confirm_goods(session, w.alice, rid2)
    assert await _job(w, refunds.confirm_goods_key(rid2)) is None
    assert [topic for topic, _ in await _topics(w.db, f"refund:{rid2}")][-1] == "RefundSuccess"


# ---------------------------------------------------------------- the return waybill


async def test_the_return_waybill_is_checked_like_a_shipping_waybill(w: Shop2) -> None:
    _, rid = await _return_agreed(w)
    before = await _snapshot(w, rid)
    cases = [
        (("NOPE", SF_RETURN), "company_code", "unknown_company"),
        (("SF", "YT1234567890123"), "waybill", "waybill_format"),
        (("YTO", SF_RETURN), "waybill", "waybill_format"),
        (("SF", "SF12345"), "waybill", "waybill_format"),
    ]
    for (company, waybill), field, rule in cases:
        with pytest.raises(ValidationFailed) as err:
            async with w.db.write() as session:
                await refunds.buyer_return_goods(session, w.buyer, rid, company, waybill)
        assert [(p.field, p.rule) for p in err.value.problems] == [(field, rule)]
        assert await _snapshot(w, rid) == before
    async with w.db.write() as session:
        r = await refunds.buyer_return_goods(session, w.buyer, rid, "YTO", "YT1234567890123")
    assert (r.status, r.return_company, r.return_sid) == (
        "WAIT_SELLER_CONFIRM_GOODS",
        "YTO",
        "YT1234567890123",
    )
