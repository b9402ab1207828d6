from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from mercato import timers  # registers every job handler, the refunds' among them
from mercato.events import jobs
from mercato.kit.clock import clock
from mercato.kit.db import Database
from mercato.kit.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from mercato.kit.pagination import PageRequest
from mercato.ledger.accounts import COMMISSION, SANDBOX_CHANNEL, seller, wallet
from mercato.ledger.service import balance, deposit, trial_balance, unbalanced_transactions
from mercato.logistics.carriers import ensure_carriers
from mercato.models import Item, Job, OutboxEvent, Refund, Sku, Trade, User
from mercato.payments import sandbox
from mercato.payments.service import escrow_held
from mercato.refunds import service as refunds
from mercato.refunds.schemas import MAX_WAYBILL
from mercato.trade import service as trade
from tests.trade.conftest import Shop2, counts

DEPOSIT = 100_000


async def _paid(
    w: Shop2, *, key: str = "k", lines: list[tuple[int, int, int]] | None = None
) -> Trade:
    """A paid trade of the buyer's: 2 × red/M (1000 fen each) unless lines are given."""
    async with w.db.write() as session:
        # Return waybills are checked against the carriers, which the PostgreSQL fixture
        # truncates with every other table.
        await ensure_carriers(session)
        trades = await trade.checkout(
            session,
            w.buyer,
            lines=lines or [(w.dress.id, w.red_m.id, 2)],
            address_id=w.address.id,
            checkout_key=key,
        )
        await deposit(session, w.buyer.id, DEPOSIT, key=f"dep-{key}")
        await trade.pay(session, w.buyer, [trades[0].id], key=f"pay-{key}")
    return await _trade(w.db, trades[0].id)


async def _trade(db: Database, tid: int) -> Trade:
    async with db.read() as session:
        t = await session.get(Trade, tid)
        assert t is not None
        return t


async def _refund(db: Database, rid: int) -> Refund:
    async with db.read() as session:
        r = await session.get(Refund, rid)
        assert r is not None
        return r


async def _ask(w: Shop2, t: Trade, fee: int | None = None, kind: str = "REFUND", i: int = 0) -> int:
    order = t.orders[i]
    async with w.db.write() as session:
        r = await refunds.request_refund(
            session,
            w.buyer,
            tid=t.id,
            oid=order.id,
            dispute_type=kind,
            refund_fee=order.payment if fee is None else fee,
            reason="不想要了",
        )
    return r.id


async def _money(db: Database, t: Trade) -> dict[str, int]:
    async with db.read() as session:
        return {
            "wallet": await balance(session, wallet(t.buyer_id)),
            "seller": await balance(session, seller(t.seller_id)),
            "commission": await balance(session, COMMISSION),
            "escrow": await escrow_held(session, t.id),
            "trial": await trial_balance(session),
            "unbalanced": len(await unbalanced_transactions(session)),
        }


async def _topics(db: Database, subject: str) -> list[tuple[str, int]]:
    async with db.read() as session:
        rows = await session.scalars(
            select(OutboxEvent).where(OutboxEvent.subject == subject).order_by(OutboxEvent.id)
        )
        return [(e.topic.split("_", 2)[2], e.seq) for e in rows]


async def _snapshot(w: Shop2, rid: int) -> dict[str, Any]:
    r = await _refund(w.db, rid)
    state = {c.name: getattr(r, c.name) for c in Refund.__table__.columns}
    t = await _trade(w.db, r.trade_id)
    return {
        "counts": await counts(w.db),
        "refund": state,
        "orders": [(o.refund_status, o.refund_id, o.status) for o in t.orders],
        "money": await _money(w.db, t),
    }


async def test_refund_before_shipping_closes_the_trade_and_returns_stock(w: Shop2) -> None:
    t = await _paid(w)
    assert (await _money(w.db, t))["escrow"] == t.payment == 2000
    rid = await _ask(w, t)
    r = await _refund(w.db, rid)
    assert (r.status, r.refund_phase, r.good_status, r.has_good_return) == (
        "WAIT_SELLER_AGREE",
        "onsale",
        "BUYER_NOT_RECEIVED",
        False,
    )
    t1 = await _trade(w.db, t.id)
    assert (t1.orders[0].refund_status, t1.orders[0].refund_id) == ("WAIT_SELLER_AGREE", rid)
    async with w.db.read() as session:
        job = await session.scalar(select(Job).where(Job.key == refunds.auto_agree_key(rid)))
        assert job is not None and job.kind == "refund.auto_agree"
        assert job.run_at == r.created + timedelta(days=5)
    async with w.db.write() as session:
        done = await refunds.seller_agree(session, w.alice, rid)
        assert done.status == "SUCCESS"
    t2 = await _trade(w.db, t.id)
    assert t2.status == "TRADE_CLOSED" and t2.end_time is not None
    assert all(o.status == "TRADE_CLOSED" and o.refund_status == "SUCCESS" for o in t2.orders)
    money = await _money(w.db, t)
    assert money["wallet"] == DEPOSIT and money["escrow"] == 0
    assert money["trial"] == 0 and money["unbalanced"] == 0 and money["seller"] == 0
    async with w.db.read() as session:
        sku = await session.get(Sku, w.red_m.id)
        item = await session.get(Item, w.dress.id)
        assert sku is not None and sku.quantity == 5
        assert item is not None and item.quantity == 8
        assert (
            await session.scalar(select(Job).where(Job.key == refunds.auto_agree_key(rid))) is None
        )
    assert await _topics(w.db, f"refund:{rid}") == [
        ("RefundCreated", 1),
        ("RefundSellerAgreeAgreement", 2),
        ("RefundSuccess", 3),
    ]
    assert (await _topics(w.db, f"trade:{t.id}"))[-1] == ("TradeClose", t2.event_seq)


async def test_return_and_refund_after_shipping(w: Shop2) -> None:
    t = await _paid(w)
    with pytest.raises(ValidationFailed) as err:
        await _ask(w, t, kind="REFUND_AND_RETURN")
    assert err.value.problems[0].rule == "return_after_shipping"
    async with w.db.write() as session:
        await trade.ship(session, w.alice, t.id, company="SF", invoice_no="SF123456789012")
    rid = await _ask(w, t, kind="REFUND_AND_RETURN")
    assert (await _refund(w.db, rid)).good_status == "BUYER_RECEIVED"
    async with w.db.write() as session:
        r = await refunds.seller_agree(session, w.alice, rid)
        assert r.status == "WAIT_BUYER_RETURN_GOODS"
    assert (await _money(w.db, t))["escrow"] == 2000  # nothing paid before the goods return
    with pytest.raises(ValidationFailed):
        async with w.db.write() as session:
            await refunds.buyer_return_goods(session, w.buyer, rid, "SF", "x" * (MAX_WAYBILL + 1))
    with pytest.raises(ValidationFailed):
        async with w.db.write() as session:
            await refunds.buyer_return_goods(session, w.buyer, rid, "", "SF1")
    async with w.db.write() as session:
        r = await refunds.buyer_return_goods(session, w.buyer, rid, "SF", " SF000000000001 ")
        assert (r.status, r.good_status) == ("WAIT_SELLER_CONFIRM_GOODS", "BUYER_RETURNED_GOODS")
        assert (r.return_company, r.return_sid) == ("SF", "SF000000000001")
    async with w.db.write() as session:
        r = await refunds.seller_confirm_goods(session, w.alice, rid)
        assert r.status == "SUCCESS"
    t2 = await _trade(w.db, t.id)
    assert t2.status == "TRADE_CLOSED"
    money = await _money(w.db, t)
    assert money["wallet"] == DEPOSIT and money["escrow"] == 0 and money["trial"] == 0
    async with w.db.read() as session:
        sku = await session.get(Sku, w.red_m.id)
        assert sku is not None and sku.quantity == 3  # shipped: the stock does not come back
        assert await session.scalar(select(Job).where(Job.key == f"confirm:{t.id}")) is None
    assert [topic for topic, _ in await _topics(w.db, f"refund:{rid}")] == [
        "RefundCreated",
        "RefundSellerAgreeAgreement",
        "RefundBuyerReturnGoods",
        "RefundSuccess",
    ]


async def test_partial_refund_leaves_the_trade_and_release_pays_the_rest(w: Shop2) -> None:
    # two orders: 2 × red/M (2000) and 1 × blue/L (1250)
    t = await _paid(w, lines=[(w.dress.id, w.red_m.id, 2), (w.dress.id, w.blue_l.id, 1)])
    assert [o.payment for o in t.orders] == [2000, 1250]
    rid = await _ask(w, t, fee=500)
    async with w.db.write() as session:
        await refunds.seller_agree(session, w.alice, rid)
    # the second order refunded in full: still one order left, the trade goes on
    rid2 = await _ask(w, t, i=1)
    async with w.db.write() as session:
        await refunds.seller_agree(session, w.alice, rid2)
    t2 = await _trade(w.db, t.id)
    assert t2.status == "WAIT_SELLER_SEND_GOODS"
    assert [o.refund_status for o in t2.orders] == ["SUCCESS", "SUCCESS"]
    assert (await _money(w.db, t))["escrow"] == 1500
    # at most what is left on the order
    with pytest.raises(ValidationFailed) as err:
        await _ask(w, t, fee=1501)
    assert err.value.problems[0].rule == "max_refund"
    with pytest.raises(ValidationFailed):
        await _ask(w, t, fee=1, i=1)  # nothing left on the second order
    async with w.db.write() as session:
        await trade.ship(session, w.alice, t.id, company="SF", invoice_no="SF1")
    async with w.db.write() as session:
        done = await trade.confirm_receipt(session, w.buyer, t.id)
        assert done.status == "TRADE_FINISHED" and done.commission_fee == 75
    money = await _money(w.db, t)
    assert money["escrow"] == 0
    assert money["seller"] == 1500 - 75 and money["commission"] == 75
    assert money["wallet"] == DEPOSIT - 3250 + 500 + 1250
    assert money["trial"] == 0 and money["unbalanced"] == 0


async def test_refusal_intervention_and_the_operator(w: Shop2, operator: User) -> None:
    t = await _paid(w, lines=[(w.dress.id, w.red_m.id, 1), (w.dress.id, w.blue_l.id, 1)])
    rid = await _ask(w, t, fee=600)
    with pytest.raises(ValidationFailed):
        async with w.db.write() as session:
            await refunds.seller_refuse(session, w.alice, rid, "  ")
    with pytest.raises(Conflict) as err:
        async with w.db.write() as session:
            await refunds.request_intervention(session, w.buyer, rid)
    assert err.value.code == "illegal_transition"
    async with w.db.write() as session:
        r = await refunds.seller_refuse(session, w.alice, rid, "商品无质量问题")
        assert (r.status, r.seller_refuse_reason) == ("SELLER_REFUSE_BUYER", "商品无质量问题")
    # the order still has an open refund
    with pytest.raises(Conflict) as err:
        await _ask(w, t, fee=1)
    assert err.value.code == "refund_open"
    # nobody decides before the buyer asks
    with pytest.raises(Conflict):
        async with w.db.write() as session:
            await refunds.operator_decide(session, operator, rid, refund=True)
    async with w.db.write() as session:
        r = await refunds.request_intervention(session, w.buyer, rid)
        assert r.cs_status == 1
    with pytest.raises(PermissionDenied):
        async with w.db.write() as session:
            await refunds.operator_decide(session, w.alice, rid, refund=True)
    async with w.db.write() as session:
        r = await refunds.operator_decide(session, operator, rid, refund=True)
        assert (r.status, r.cs_status) == ("SUCCESS", 2)
    assert (await _money(w.db, t))["escrow"] == 2250 - 600
    # the other order: refused, the operator closes it
    rid2 = await _ask(w, t, fee=100, i=1)
    async with w.db.write() as session:
        await refunds.seller_refuse(session, w.alice, rid2, "no")
        await refunds.request_intervention(session, w.buyer, rid2)
        r = await refunds.operator_decide(session, operator, rid2, refund=False)
        assert (r.status, r.cs_status) == ("CLOSED", 2)
    t2 = await _trade(w.db, t.id)
    assert t2.status == "WAIT_SELLER_SEND_GOODS"
    assert [o.refund_status for o in t2.orders] == ["SUCCESS", "CLOSED"]
    assert [topic for topic, _ in await _topics(w.db, f"refund:{rid}")] == [
        "RefundCreated",
        "RefundSellerRefuseAgreement",
        "TaobaoInterApplied",
        "TaobaoIntervened",
        "RefundSuccess",
    ]
    assert (await _money(w.db, t))["trial"] == 0
    # a closed refund: the buyer may ask again
    rid3 = await _ask(w, t, fee=100, i=1)
    async with w.db.write() as session:
        assert (await refunds.buyer_close(session, w.buyer, rid3)).status == "CLOSED"


async def test_bad_requests_change_nothing(w: Shop2) -> None:
    t = await _paid(w)
    before = await counts(w.db)
    for fee in (0, -1, 2001):
        with pytest.raises(ValidationFailed):
            await _ask(w, t, fee=fee)
    with pytest.raises(ValidationFailed):
        async with w.db.write() as session:
            await refunds.request_refund(
                session,
                w.buyer,
                tid=t.id,
                oid=t.orders[0].id,
                dispute_type="REPAIR",
                refund_fee=1,
                reason="x",
            )
    with pytest.raises(ValidationFailed):
        async with w.db.write() as session:
            await refunds.request_refund(
                session,
                w.buyer,
                tid=t.id,
                oid=t.orders[0].id,
                dispute_type="REFUND",
                refund_fee=1,
                reason=" ",
            )
    # another buyer, another trade's order, a trade not paid yet
    with pytest.raises(NotFound):
        async with w.db.write() as session:
            await refunds.request_refund(
                session,
                w.other,
                tid=t.id,
                oid=t.orders[0].id,
                dispute_type="REFUND",
                refund_fee=1,
                reason="x",
            )
    with pytest.raises(NotFound):
        async with w.db.write() as session:
            await refunds.request_refund(
                session,
                w.buyer,
                tid=t.id,
                oid=t.orders[0].id + 999,
                dispute_type="REFUND",
                refund_fee=1,
                reason="x",
            )
    assert await counts(w.db) == before
    async with w.db.write() as session:
        unpaid = (
            await trade.checkout(
                session,
                w.buyer,
                lines=[(w.phone.id, 0, 1)],
                address_id=w.address.id,
                checkout_key="unpaid",
            )
        )[0]
    with pytest.raises(Conflict) as err:
        async with w.db.write() as session:
            await refunds.request_refund(
                session,
                w.buyer,
                tid=unpaid.id,
                oid=unpaid.orders[0].id,
                dispute_type="REFUND",
                refund_fee=1,
                reason="x",
            )
    assert err.value.code == "illegal_transition"


async def test_tenancy(w: Shop2) -> None:
    t = await _paid(w)
    rid = await _ask(w, t, fee=100)
    before = await _snapshot(w, rid)
    calls = [
        lambda s: refunds.seller_agree(s, w.bob, rid),
        lambda s: refunds.seller_refuse(s, w.bob, rid, "no"),
        lambda s: refunds.seller_confirm_goods(s, w.bob, rid),
        lambda s: refunds.seller_agree(s, w.buyer, rid),
        lambda s: refunds.buyer_close(s, w.other, rid),
        lambda s: refunds.buyer_return_goods(s, w.other, rid, "SF", "SF1"),
        lambda s: refunds.request_intervention(s, w.other, rid),
        lambda s: refunds.buyer_close(s, w.alice, rid),
        lambda s: refunds.get_refund(s, w.other, rid),
        lambda s: refunds.get_refund(s, w.bob, rid),
        lambda s: refunds.seller_agree(s, w.alice, rid + 999),
    ]
    for call in calls:
        with pytest.raises(NotFound):
            async with w.db.write() as session:
                await call(session)
    assert await _snapshot(w, rid) == before
    async with w.db.read() as session:
        assert (await refunds.get_refund(session, w.buyer, rid)).id == rid
        assert (await refunds.get_refund(session, w.alice, rid)).id == rid
        assert (await refunds.buyer_refunds(session, w.other, PageRequest())).total == 0
        assert (await refunds.seller_refunds(session, w.bob, None, PageRequest())).total == 0


async def test_illegal_transitions_change_nothing(w: Shop2) -> None:
    t = await _paid(w)
    rid = await _ask(w, t, fee=300)

    async def refused(call: Any) -> None:
        before = await _snapshot(w, rid)
        with pytest.raises(Conflict) as err:
            async with w.db.write() as session:
                await call(session)
        assert err.value.code == "illegal_transition"
        assert " to " in err.value.message
        assert await _snapshot(w, rid) == before

    # WAIT_SELLER_AGREE
    await refused(lambda s: refunds.seller_confirm_goods(s, w.alice, rid))
    await refused(lambda s: refunds.buyer_return_goods(s, w.buyer, rid, "SF", "SF1"))
    await refused(lambda s: refunds.request_intervention(s, w.buyer, rid))
    async with w.db.write() as session:
        await refunds.seller_agree(session, w.alice, rid)  # money only: SUCCESS
    # SUCCESS is final
    await refused(lambda s: refunds.seller_agree(s, w.alice, rid))
    await refused(lambda s: refunds.seller_refuse(s, w.alice, rid, "no"))
    await refused(lambda s: refunds.buyer_close(s, w.buyer, rid))
    await refused(lambda s: refunds.seller_confirm_goods(s, w.alice, rid))
    # CLOSED is final too
    rid2 = await _ask(w, t, fee=300)
    async with w.db.write() as session:
        await refunds.buyer_close(session, w.buyer, rid2)
    before = await _snapshot(w, rid2)
    for call in (
        lambda s: refunds.seller_agree(s, w.alice, rid2),
        lambda s: refunds.buyer_close(s, w.buyer, rid2),
        lambda s: refunds.seller_refuse(s, w.alice, rid2, "no"),
    ):
        with pytest.raises(Conflict):
            async with w.db.write() as session:
                await call(session)
    assert await _snapshot(w, rid2) == before
    async with w.db.read() as session:
        page = await refunds.buyer_refunds(session, w.buyer, PageRequest())
        assert [r.id for r in page.items] == [rid2, rid] and page.total == 2
        closed = await refunds.seller_refunds(session, w.alice, "CLOSED", PageRequest())
        assert [r.id for r in closed.items] == [rid2]
        with pytest.raises(ValidationFailed):
            await refunds.seller_refunds(session, w.alice, "NOPE", PageRequest())


async def test_auto_agree_timer(w: Shop2) -> None:
    assert "refund.auto_agree" in jobs.registered_kinds()
    assert timers.refund_timers is not None
    t = await _paid(w)
    rid = await _ask(w, t)
    try:
        clock.advance(timedelta(days=4, hours=23))
        await jobs.run_due(w.db)
        assert (await _refund(w.db, rid)).status == "WAIT_SELLER_AGREE"
        clock.advance(timedelta(hours=2))
        await jobs.run_due(w.db)
        assert (await _refund(w.db, rid)).status == "SUCCESS"
        assert (await _trade(w.db, t.id)).status == "TRADE_CLOSED"
        # late or twice: nothing more happens
        async with w.db.write() as session:
            assert await refunds.auto_agree_timeout(session, rid) is None
            assert await refunds.auto_agree_timeout(session, rid + 999) is None
        assert (await _refund(w.db, rid)).event_seq == 3
        assert (await _money(w.db, t))["wallet"] == DEPOSIT
    finally:
        clock.reset()


async def test_an_answered_request_drops_its_timer(w: Shop2) -> None:
    t = await _paid(w)
    rid = await _ask(w, t, fee=100)
    async with w.db.write() as session:
        await refunds.seller_refuse(session, w.alice, rid, "no")
    try:
        clock.advance(timedelta(days=6))
        assert await jobs.run_due(w.db) == 0
        assert (await _refund(w.db, rid)).status == "SELLER_REFUSE_BUYER"
    finally:
        clock.reset()


async def test_aftersale_refund_comes_from_the_seller(w: Shop2) -> None:
    t = await _paid(w)
    async with w.db.write() as session:
        await trade.ship(session, w.alice, t.id, company="SF", invoice_no="SF1")
        await trade.confirm_receipt(session, w.buyer, t.id)
    assert (await _money(w.db, t))["seller"] == 1900
    # more than the seller holds: refused, nothing changes
    rid = await _ask(w, t, fee=2000)
    assert (await _refund(w.db, rid)).refund_phase == "aftersale"
    before = await _snapshot(w, rid)
    with pytest.raises(Conflict) as err:
        async with w.db.write() as session:
            await refunds.seller_agree(session, w.alice, rid)
    assert err.value.code == "seller_insufficient_funds"
    assert await _snapshot(w, rid) == before
    async with w.db.write() as session:
        await refunds.buyer_close(session, w.buyer, rid)
    rid = await _ask(w, t, fee=1900)
    async with w.db.write() as session:
        assert (await refunds.seller_agree(session, w.alice, rid)).status == "SUCCESS"
    money = await _money(w.db, t)
    assert money["seller"] == 0 and money["wallet"] == DEPOSIT - 100
    assert money["trial"] == 0
    assert (await _trade(w.db, t.id)).status == "TRADE_FINISHED"  # 100 not refunded
    # after the window: no more refunds
    try:
        clock.advance(timedelta(days=15, minutes=1))
        with pytest.raises(Conflict):
            await _ask(w, t, fee=1)
    finally:
        clock.reset()


async def test_a_sandbox_payment_is_refunded_to_the_sandbox_channel(w: Shop2) -> None:
    secret = "test-secret"
    async with w.db.write() as session:
        t = (
            await trade.checkout(
                session,
                w.buyer,
                lines=[(w.dress.id, w.red_m.id, 1)],
                address_id=w.address.id,
                checkout_key="sbx",
            )
        )[0]
        payment = await sandbox.start_sandbox(
            session, w.buyer.id, t.payment, trade_ids=[t.id], key="sbx-pay"
        )
        callback = sandbox.callback_for(secret, payment, "paid")
        await sandbox.confirm_sandbox(
            session,
            external_ref=str(callback["external_ref"]),
            amount=int(str(callback["amount"])),
            status="paid",
            timestamp=int(str(callback["timestamp"])),
            signature=str(callback["signature"]),
            secret=secret,
        )
        await trade.mark_paid(session, [t.id])
    t = await _trade(w.db, t.id)
    async with w.db.read() as session:
        assert await refunds.payment_channel(session, t.id) == "sandbox"
        assert await balance(session, SANDBOX_CHANNEL) == -1000
    rid = await _ask(w, t)
    async with w.db.write() as session:
        await refunds.seller_agree(session, w.alice, rid)
    async with w.db.read() as session:
        assert await balance(session, SANDBOX_CHANNEL) == 0
        assert await balance(session, wallet(w.buyer.id)) == 0
        assert await trial_balance(session) == 0
    assert (await _trade(w.db, t.id)).status == "TRADE_CLOSED"
