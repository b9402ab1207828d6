from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

import mercato.trade.timers  # noqa: F401  (registers the handlers)
from mercato.events import jobs
from mercato.kit.clock import clock
from mercato.kit.errors import Conflict, NotFound, ValidationFailed
from mercato.ledger.service import deposit
from mercato.models import Item, Job, OutboxEvent, Sku, Trade
from mercato.trade import service as trade
from tests.trade.conftest import Shop2, counts


async def _order(w: Shop2, key: str = "k", n: int = 2) -> int:
    async with w.db.write() as session:
        trades = await trade.checkout(
            session,
            w.buyer,
            lines=[(w.dress.id, w.red_m.id, n)],
            address_id=w.address.id,
            checkout_key=key,
        )
        await deposit(session, w.buyer.id, 100_000, key=f"dep-{key}")
    return trades[0].id


async def _get(w: Shop2, tid: int) -> Trade:
    async with w.db.read() as session:
        t = await session.get(Trade, tid)
        assert t is not None
        return t


async def test_pay_ship_confirm_with_events_in_order(w: Shop2) -> None:
    tid = await _order(w)
    async with w.db.write() as session:
        await trade.pay(session, w.buyer, [tid], key="pay-1")
    paid = await _get(w, tid)
    assert paid.status == "WAIT_SELLER_SEND_GOODS" and paid.pay_time is not None
    assert all(o.status == "WAIT_SELLER_SEND_GOODS" for o in paid.orders)
    async with w.db.read() as session:
        item = await session.get(Item, w.dress.id)
        assert item is not None and item.sold_quantity == 2 and item.quantity == 6
        assert await session.scalar(select(Job).where(Job.key == f"close:{tid}")) is None
    async with w.db.write() as session:
        await trade.ship(session, w.alice, tid, company="SF", invoice_no="SF1")
    shipped = await _get(w, tid)
    assert shipped.status == "WAIT_BUYER_CONFIRM_GOODS"
    assert shipped.consign_time is not None and shipped.orders[0].invoice_no == "SF1"
    async with w.db.read() as session:
        job = await session.scalar(select(Job).where(Job.key == f"confirm:{tid}"))
        assert job is not None and job.run_at == shipped.consign_time + timedelta(days=10)
    async with w.db.write() as session:
        await trade.confirm_receipt(session, w.buyer, tid)
    done = await _get(w, tid)
    assert done.status == "TRADE_FINISHED" and done.end_time is not None
    assert done.commission_fee >= 0
    async with w.db.read() as session:
        events = list(
            await session.scalars(
                select(OutboxEvent)
                .where(OutboxEvent.subject == f"trade:{tid}")
                .order_by(OutboxEvent.id)
            )
        )
        assert await session.scalar(select(Job).where(Job.key == f"confirm:{tid}")) is None
    assert [(e.topic.removeprefix("taobao_trade_"), e.seq) for e in events] == [
        ("TradeCreate", 1),
        ("TradeBuyerPay", 2),
        ("TradeSellerShip", 3),
        ("TradeSuccess", 4),
    ]
    assert done.event_seq == 4


async def test_illegal_transitions_change_nothing(w: Shop2) -> None:
    tid = await _order(w)
    before = await counts(w.db)
    attempts = [
        lambda s: trade.ship(s, w.alice, tid),
        lambda s: trade.confirm_receipt(s, w.buyer, tid),
        lambda s: trade.extend_receive_time(s, w.buyer, tid),
    ]
    for attempt in attempts:
        with pytest.raises(Conflict) as caught:
            async with w.db.write() as session:
                await attempt(session)
        assert caught.value.code == "illegal_transition"
        assert "WAIT_BUYER_PAY" in caught.value.message
    assert await counts(w.db) == before
    async with w.db.write() as session:
        await trade.cancel_unpaid(session, w.buyer, tid)
    closed = await counts(w.db)
    for attempt in [
        lambda s: trade.pay(s, w.buyer, [tid], key="p"),
        lambda s: trade.cancel_unpaid(s, w.buyer, tid),
        lambda s: trade.adjust_price(s, w.alice, tid, 100),
        lambda s: trade.mark_paid(s, [tid]),
    ]:
        with pytest.raises(Conflict):
            async with w.db.write() as session:
                await attempt(session)
    assert await counts(w.db) == closed


async def test_tenancy(w: Shop2) -> None:
    tid = await _order(w)
    before = await counts(w.db)
    for attempt in [
        lambda s: trade.ship(s, w.bob, tid),
        lambda s: trade.update_memo(s, w.bob, tid, memo="x", flag=1),
        lambda s: trade.cancel_unpaid(s, w.other, tid),
        lambda s: trade.pay(s, w.other, [tid], key="p"),
        lambda s: trade.get_buyer_trade(s, w.other, tid),
    ]:
        with pytest.raises(NotFound):
            async with w.db.write() as session:
                await attempt(session)
    assert await counts(w.db) == before


async def test_close_gives_stock_back_exactly(w: Shop2) -> None:
    before = await counts(w.db)
    tid = await _order(w, n=3)
    async with w.db.write() as session:
        await trade.cancel_unpaid(session, w.buyer, tid)
    after = await counts(w.db)
    for key in (f"sku:{w.red_m.id}", f"sku:{w.blue_l.id}", f"item:{w.dress.id}"):
        assert after[key] == before[key]
    closed = await _get(w, tid)
    assert closed.status == "TRADE_CLOSED_BY_TAOBAO" and closed.event_seq == 2


async def test_stock_events_are_numbered_per_item(w: Shop2) -> None:
    tid = await _order(w, n=3)
    async with w.db.write() as session:
        await trade.cancel_unpaid(session, w.buyer, tid)
    async with w.db.read() as session:
        events = (
            await session.scalars(
                select(OutboxEvent)
                .where(OutboxEvent.subject == f"item:{w.dress.id}")
                .order_by(OutboxEvent.id)
            )
        ).all()
        item = await session.get(Item, w.dress.id)
    assert [e.topic for e in events] == ["taobao_item_ItemStockChanged"] * 2
    assert [e.seq for e in events] == [1, 2]
    assert item is not None and item.event_seq == 2


async def test_close_timer_runs_after_the_timeout(w: Shop2) -> None:
    tid = await _order(w)
    try:
        clock.advance(timedelta(minutes=29))
        await jobs.run_due(w.db)
        assert (await _get(w, tid)).status == "WAIT_BUYER_PAY"
        clock.advance(timedelta(minutes=2))
        await jobs.run_due(w.db)
        assert (await _get(w, tid)).status == "TRADE_CLOSED_BY_TAOBAO"
        async with w.db.read() as session:
            sku = await session.get(Sku, w.red_m.id)
            assert sku is not None and sku.quantity == 5
        # the timer again, late: nothing more happens
        async with w.db.write() as session:
            assert await trade.close_unpaid_timeout(session, tid) is None
        assert (await _get(w, tid)).event_seq == 2
    finally:
        clock.reset()


async def test_paid_trade_survives_its_close_timer(w: Shop2) -> None:
    tid = await _order(w)
    async with w.db.write() as session:
        await trade.pay(session, w.buyer, [tid], key="pay")
        assert await trade.mark_paid(session, [tid]) == []  # idempotent
    async with w.db.write() as session:
        assert await trade.close_unpaid_timeout(session, tid) is None
    assert (await _get(w, tid)).status == "WAIT_SELLER_SEND_GOODS"


async def test_auto_confirm_timer_and_extension(w: Shop2) -> None:
    tid = await _order(w)
    async with w.db.write() as session:
        await trade.pay(session, w.buyer, [tid], key="pay")
        await trade.ship(session, w.alice, tid)
    async with w.db.write() as session:
        await trade.extend_receive_time(session, w.buyer, tid)
    with pytest.raises(Conflict):
        async with w.db.write() as session:
            await trade.extend_receive_time(session, w.buyer, tid)
    try:
        clock.advance(timedelta(days=10, minutes=1))
        await jobs.run_due(w.db)
        assert (await _get(w, tid)).status == "WAIT_BUYER_CONFIRM_GOODS"
        clock.advance(timedelta(days=3))
        await jobs.run_due(w.db)
        assert (await _get(w, tid)).status == "TRADE_FINISHED"
    finally:
        clock.reset()


async def test_memo_price_and_address(w: Shop2) -> None:
    tid = await _order(w)
    async with w.db.write() as session:
        await trade.update_memo(session, w.alice, tid, memo="VIP", flag=2)
        t = await trade.adjust_price(session, w.alice, tid, 1500)
        assert (t.payment, t.adjust_fee, t.orders[0].payment) == (1500, -500, 1500)
        t = await trade.change_address(session, w.buyer, tid, w.address.id)
    with pytest.raises(ValidationFailed):
        async with w.db.write() as session:
            await trade.update_memo(session, w.alice, tid, memo=None, flag=6)
    with pytest.raises(ValidationFailed):
        async with w.db.write() as session:
            await trade.adjust_price(session, w.alice, tid, 0)
    t = await _get(w, tid)
    assert (t.seller_memo, t.seller_flag, t.payment, t.event_seq) == ("VIP", 2, 1500, 4)
