from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select

from mercato.kit.clock import clock
from mercato.kit.db import Database
from mercato.kit.errors import Conflict, NotFound, ValidationFailed
from mercato.kit.pagination import PageRequest
from mercato.ledger.service import deposit
from mercato.models import OutboxEvent, Trade, TradeRate
from mercato.ratings import service as ratings
from mercato.trade import service as trade
from tests.trade.conftest import Shop2

Line = tuple[int, int | None, int]


async def _finished(w: Shop2, key: str = "k", lines: list[Line] | None = None) -> Trade:
    """A finished trade of the buyer's in alice's shop: 1 × red/M unless lines are given."""
    async with w.db.write() as session:
        trades = await trade.checkout(
            session,
            w.buyer,
            lines=lines or [(w.dress.id, w.red_m.id, 1)],
            address_id=w.address.id,
            checkout_key=key,
        )
        tid = trades[0].id
        await deposit(session, w.buyer.id, 100_000, key=f"dep-{key}")
        await trade.pay(session, w.buyer, [tid], key=f"pay-{key}")
    async with w.db.write() as session:
        await trade.ship(session, w.alice, tid, company="SF", invoice_no=f"SF-{key}")
    async with w.db.write() as session:
        await trade.confirm_receipt(session, w.buyer, tid)
    return await _trade(w.db, tid)


async def _trade(db: Database, tid: int) -> Trade:
    async with db.read() as session:
        t = await session.get(Trade, tid)
        assert t is not None
        return t


async def _snapshot(db: Database) -> dict[str, Any]:
    """What a refused rating must leave alone."""
    async with db.read() as session:
        out: dict[str, Any] = {
            "rates": [
                (r.id, r.order_id, r.role, r.result, r.content, r.reply)
                for r in await session.scalars(select(TradeRate).order_by(TradeRate.id))
            ],
            "events": await session.scalar(select(func.count()).select_from(OutboxEvent)),
        }
        for t in await session.scalars(select(Trade).order_by(Trade.id)):
            out[f"trade:{t.id}"] = (t.buyer_rate, t.seller_rate, t.event_seq, t.modified)
    return out


async def _topics(db: Database, tid: int) -> list[tuple[str, int, dict[str, Any]]]:
    async with db.read() as session:
        events = await session.scalars(
            select(OutboxEvent)
            .where(OutboxEvent.subject == f"trade:{tid}")
            .order_by(OutboxEvent.id)
        )
        return [(e.topic.removeprefix("taobao_trade_"), e.seq, e.content) for e in events]


async def test_buyer_and_seller_rate_a_finished_trade(w: Shop2) -> None:
    t = await _finished(w)
    async with w.db.write() as session:
        given = await ratings.rate(session, w.buyer, tid=t.id, result="good", content="  很好  ")
    assert len(given) == 1
    r = given[0]
    assert (r.role, r.rater_id, r.rated_id, r.result, r.content, r.reply) == (
        "buyer",
        w.buyer.id,
        w.alice.id,
        "good",
        "很好",
        "",
    )
    assert (r.order_id, r.item_id, r.shop_id) == (t.orders[0].id, w.dress.id, t.shop_id)
    after_buyer = await _trade(w.db, t.id)
    assert after_buyer.buyer_rate is True and after_buyer.seller_rate is False
    async with w.db.write() as session:
        back = await ratings.rate(session, w.alice, tid=t.id, result="neutral")
    assert (back[0].role, back[0].rater_id, back[0].rated_id) == ("seller", w.alice.id, w.buyer.id)
    done = await _trade(w.db, t.id)
    assert done.buyer_rate is True and done.seller_rate is True
    async with w.db.read() as session:
        mine = await ratings.my_given(session, w.buyer, PageRequest())
        received = await ratings.my_received(session, w.buyer, PageRequest())
        alice_received = await ratings.my_received(session, w.alice, PageRequest())
    assert [x.id for x in mine.items] == [r.id] and mine.total == 1
    assert [x.id for x in received.items] == [back[0].id]
    assert [x.id for x in alice_received.items] == [r.id]


async def test_trade_rated_events_continue_the_trade_sequence(w: Shop2) -> None:
    t = await _finished(w)
    async with w.db.write() as session:
        await ratings.rate(session, w.buyer, tid=t.id, result="good")
    async with w.db.write() as session:
        await ratings.rate(session, w.alice, tid=t.id, result="good")
    events = await _topics(w.db, t.id)
    assert [(topic, seq) for topic, seq, _ in events] == [
        ("TradeCreate", 1),
        ("TradeBuyerPay", 2),
        ("TradeSellerShip", 3),
        ("TradeSuccess", 4),
        ("TradeRated", 5),
        ("TradeRated", 6),
    ]
    assert [c["rater"] for _, _, c in events[-2:]] == ["buyer", "seller"]
    body = events[-2][2]
    assert body["tid"] == t.id and body["oid"] == t.orders[0].id
    assert body["status"] == "TRADE_FINISHED" and body["buyer_nick"] == "carol"
    assert body["seller_nick"] == "alice"
    assert (await _trade(w.db, t.id)).event_seq == 6


async def test_the_window_closes_15_days_after_the_end(w: Shop2) -> None:
    t = await _finished(w)
    try:
        clock.advance(timedelta(days=15) - timedelta(minutes=1))
        async with w.db.write() as session:
            await ratings.rate(session, w.alice, tid=t.id, result="good")
        clock.advance(timedelta(minutes=2))
        before = await _snapshot(w.db)
        with pytest.raises(ValidationFailed) as caught:
            async with w.db.write() as session:
                await ratings.rate(session, w.buyer, tid=t.id, result="good")
        assert caught.value.problems[0].rule == "rate_window_closed"
        assert await _snapshot(w.db) == before
    finally:
        clock.reset()


async def test_an_unfinished_trade_cannot_be_rated(w: Shop2) -> None:
    async with w.db.write() as session:
        trades = await trade.checkout(
            session,
            w.buyer,
            lines=[(w.dress.id, w.red_m.id, 1)],
            address_id=w.address.id,
            checkout_key="u",
        )
    tid = trades[0].id
    before = await _snapshot(w.db)
    for who in (w.buyer, w.alice):
        with pytest.raises(Conflict) as caught:
            async with w.db.write() as session:
                await ratings.rate(session, who, tid=tid, result="good")
        assert caught.value.code == "trade_not_finished"
    assert await _snapshot(w.db) == before


async def test_someone_elses_trade_is_not_found(w: Shop2) -> None:
    t = await _finished(w)
    before = await _snapshot(w.db)
    for stranger in (w.other, w.bob):
        with pytest.raises(NotFound):
            async with w.db.write() as session:
                await ratings.rate(session, stranger, tid=t.id, result="bad")
    with pytest.raises(NotFound):
        async with w.db.write() as session:
            await ratings.rate(session, w.buyer, tid=t.id + 999, result="bad")
    assert await _snapshot(w.db) == before


async def test_rating_twice_is_refused_and_changes_nothing(w: Shop2) -> None:
    t = await _finished(w)
    async with w.db.write() as session:
        await ratings.rate(session, w.buyer, tid=t.id, result="good", content="first")
    before = await _snapshot(w.db)
    for oid in (None, t.orders[0].id):
        with pytest.raises(Conflict) as caught:
            async with w.db.write() as session:
                await ratings.rate(session, w.buyer, tid=t.id, result="bad", oid=oid)
        assert caught.value.code == "already_rated"
    assert await _snapshot(w.db) == before


async def test_bad_input_is_refused(w: Shop2) -> None:
    t = await _finished(w)
    before = await _snapshot(w.db)
    with pytest.raises(ValidationFailed) as caught:
        async with w.db.write() as session:
            await ratings.rate(session, w.buyer, tid=t.id, result="good", content="好" * 501)
    assert caught.value.problems[0].rule == "max_length"
    with pytest.raises(ValidationFailed) as caught:
        async with w.db.write() as session:
            await ratings.rate(session, w.buyer, tid=t.id, result="great")
    assert caught.value.problems[0].rule == "choice"
    assert await _snapshot(w.db) == before
    async with w.db.write() as session:  # 500 characters once stripped is fine
        rates = await ratings.rate(
            session, w.buyer, tid=t.id, result="good", content="  " + "好" * 500 + "  "
        )
    assert len(rates[0].content) == 500


async def test_rating_order_by_order(w: Shop2) -> None:
    t = await _finished(w, lines=[(w.dress.id, w.red_m.id, 1), (w.dress.id, w.blue_l.id, 1)])
    assert len(t.orders) == 2
    first, second = t.orders[0].id, t.orders[1].id
    async with w.db.write() as session:
        rates = await ratings.rate(session, w.buyer, tid=t.id, result="good", oid=first)
    assert [r.order_id for r in rates] == [first]
    assert (await _trade(w.db, t.id)).buyer_rate is False
    before = await _snapshot(w.db)
    with pytest.raises(NotFound):
        async with w.db.write() as session:
            await ratings.rate(session, w.buyer, tid=t.id, result="good", oid=second + 999)
    for oid in (first, None):
        with pytest.raises(Conflict) as caught:
            async with w.db.write() as session:
                await ratings.rate(session, w.buyer, tid=t.id, result="good", oid=oid)
        assert caught.value.code == "already_rated"
    assert await _snapshot(w.db) == before
    async with w.db.write() as session:
        await ratings.rate(session, w.buyer, tid=t.id, result="bad", oid=second)
    assert (await _trade(w.db, t.id)).buyer_rate is True
    async with w.db.write() as session:  # the seller rates both orders at once
        both = await ratings.rate(session, w.alice, tid=t.id, result="good")
    assert sorted(r.order_id for r in both) == [first, second]
    done = await _trade(w.db, t.id)
    assert done.seller_rate is True
    events = (await _topics(w.db, t.id))[-3:]
    topics = [(topic, c["oid"], c["rater"]) for topic, _, c in events]
    assert topics == [
        ("TradeRated", first, "buyer"),
        ("TradeRated", second, "buyer"),
        ("TradeRated", first, "seller"),
    ]


async def test_the_seller_replies_once(w: Shop2) -> None:
    t = await _finished(w)
    async with w.db.write() as session:
        (by_buyer,) = await ratings.rate(session, w.buyer, tid=t.id, result="neutral")
        (by_seller,) = await ratings.rate(session, w.alice, tid=t.id, result="good")
    for who, rid in ((w.bob, by_buyer.id), (w.buyer, by_buyer.id), (w.alice, by_seller.id)):
        with pytest.raises(NotFound):
            async with w.db.write() as session:
                await ratings.reply(session, who, rid, "谢谢")
    for text, rule in (("   ", "required"), ("谢" * 501, "max_length")):
        with pytest.raises(ValidationFailed) as caught:
            async with w.db.write() as session:
                await ratings.reply(session, w.alice, by_buyer.id, text)
        assert caught.value.problems[0].rule == rule
    async with w.db.write() as session:
        replied = await ratings.reply(session, w.alice, by_buyer.id, "  谢谢惠顾  ")
    assert replied.reply == "谢谢惠顾" and replied.replied_at is not None
    with pytest.raises(Conflict) as conflict:
        async with w.db.write() as session:
            await ratings.reply(session, w.alice, by_buyer.id, "again")
    assert conflict.value.code == "already_replied"
    async with w.db.read() as session:
        stored = await session.get(TradeRate, by_buyer.id)
    assert stored is not None and stored.reply == "谢谢惠顾"


async def test_shop_summary_and_lists(w: Shop2) -> None:
    results = ["good", "bad", "good"]
    trades = [await _finished(w, key=f"k{n}") for n in range(len(results))]
    for t, result in zip(trades, results, strict=True):
        async with w.db.write() as session:
            await ratings.rate(session, w.buyer, tid=t.id, result=result)
            await ratings.rate(session, w.alice, tid=t.id, result="neutral")  # not the shop's
    shop_id = trades[0].shop_id
    async with w.db.read() as session:
        summary = await ratings.shop_summary(session, shop_id)
        bad = await ratings.shop_rates(session, shop_id, PageRequest(), result="bad")
        paged = await ratings.shop_rates(session, shop_id, PageRequest(page=1, size=2))
        empty_shop = await ratings.shop_summary(session, shop_id + 999)
    assert (summary.total, summary.good, summary.neutral, summary.bad) == (3, 2, 0, 1)
    assert summary.good_rate == Decimal("0.67")
    assert [r.trade_id for r in summary.recent] == [t.id for t in reversed(trades)]
    assert all(r.role == "buyer" for r in summary.recent)
    assert [r.trade_id for r in bad.items] == [trades[1].id] and bad.total == 1
    assert paged.total == 3 and len(paged.items) == 2 and paged.has_next
    assert (empty_shop.total, empty_shop.good_rate, empty_shop.recent) == (0, Decimal("0"), [])
    with pytest.raises(ValidationFailed):
        async with w.db.read() as session:
            await ratings.shop_rates(session, shop_id, PageRequest(), result="great")
