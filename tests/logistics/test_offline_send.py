from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

import mercato.timers  # noqa: F401  (registers every job handler)
from mercato.kit.errors import Conflict, MercatoError, NotFound, ValidationFailed
from mercato.logistics import service as logistics
from mercato.logistics.tracking import LOGISTICS_TRACE
from mercato.models import Carrier, Job, OutboxEvent, Shipment, TrackingEvent
from mercato.trade import service as trade
from tests.logistics.conftest import Paid, all_counts, checkout, get_trade

SF1, SF2 = "SF100000000001", "SF100000000002"


async def _topics(paid: Paid) -> list[tuple[str, int]]:
    async with paid.w.db.read() as session:
        events = await session.scalars(
            select(OutboxEvent)
            .where(OutboxEvent.subject == f"trade:{paid.tid}")
            .order_by(OutboxEvent.seq)
        )
        return [(e.topic.rsplit("_", 1)[-1], e.seq) for e in events]


async def test_offline_send_ships_the_whole_trade(paid: Paid) -> None:
    # when the seller ships every order with one waybill (lower case, padded)
    async with paid.w.db.write() as session:
        shipment = await logistics.offline_send(
            session, paid.w.alice, paid.tid, company_code="sf", out_sid=f" {SF1.lower()} "
        )
    # then the trade waits for the buyer and each order carries the parcel
    t = await get_trade(paid.w.db, paid.tid)
    assert t.status == "WAIT_BUYER_CONFIRM_GOODS" and t.consign_time is not None
    assert [(o.status, o.logistics_company, o.invoice_no) for o in t.orders] == [
        ("WAIT_BUYER_CONFIRM_GOODS", "SF", SF1)
    ] * 2
    assert all(o.consign_time is not None for o in t.orders)
    assert shipment.carrier_code == "SF" and shipment.waybill == SF1
    assert logistics.shipment_order_ids(shipment) == paid.oids
    async with paid.w.db.read() as session:
        steps = list(await session.scalars(select(TrackingEvent)))
        assert [(s.shipment_id, s.action) for s in steps] == [(shipment.id, "CREATE")]
        assert shipment.status == "CREATE"
        jobs = {j.key: j.kind for j in await session.scalars(select(Job))}
    assert jobs[f"confirm:{paid.tid}"] == "trade.auto_confirm"
    assert jobs[f"track:{shipment.id}:GOT"] == "logistics.simulate"
    # and the events: ship by trade.ship, then the parcel's CREATE step, in seq order
    assert await _topics(paid) == [
        ("TradeCreate", 1),
        ("TradeBuyerPay", 2),
        ("TradeSellerShip", 3),
        ("LogsticDetailTrace", 4),
    ]
    async with paid.w.db.read() as session:
        trace = await session.scalar(
            select(OutboxEvent).where(OutboxEvent.topic == LOGISTICS_TRACE)
        )
    assert trace is not None and trace.content["out_sid"] == SF1
    assert trace.content["company_name"] == "顺丰速运" and trace.content["action"] == "CREATE"
    assert trace.content["tid"] == paid.tid and trace.user_id == paid.w.alice.id


async def test_split_shipping_completes_with_the_last_parcel(paid: Paid) -> None:
    first, second = paid.oids
    # when the first order leaves alone
    async with paid.w.db.write() as session:
        one = await logistics.offline_send(
            session, paid.w.alice, paid.tid, company_code="SF", out_sid=SF1, order_ids=[first]
        )
    # then the trade still waits for the seller, with one order shipped
    t = await get_trade(paid.w.db, paid.tid)
    assert t.status == "WAIT_SELLER_SEND_GOODS" and t.consign_time is None
    assert [(o.logistics_company, o.invoice_no) for o in t.orders] == [("SF", SF1), (None, None)]
    assert [o.consign_time is not None for o in t.orders] == [True, False]
    # when the rest leaves with another carrier
    async with paid.w.db.write() as session:
        two = await logistics.offline_send(
            session, paid.w.alice, paid.tid, company_code="EMS", out_sid="EA123456789CN"
        )
    # then the trade is shipped and each order keeps its own parcel
    t = await get_trade(paid.w.db, paid.tid)
    assert t.status == "WAIT_BUYER_CONFIRM_GOODS"
    assert [(o.logistics_company, o.invoice_no) for o in t.orders] == [
        ("SF", SF1),
        ("EMS", "EA123456789CN"),
    ]
    assert logistics.shipment_order_ids(one) == [first]
    assert logistics.shipment_order_ids(two) == [second]
    assert await _topics(paid) == [
        ("TradeCreate", 1),
        ("TradeBuyerPay", 2),
        ("TradePartlySellerShip", 3),
        ("LogsticDetailTrace", 4),
        ("TradeSellerShip", 5),
        ("LogsticDetailTrace", 6),
    ]


async def test_a_retry_returns_the_same_shipment(paid: Paid) -> None:
    first, _ = paid.oids
    async with paid.w.db.write() as session:
        one = await logistics.offline_send(
            session, paid.w.alice, paid.tid, company_code="SF", out_sid=SF1, order_ids=[first]
        )
    before = await all_counts(paid.w.db)
    for order_ids in ([first], None):
        async with paid.w.db.write() as session:
            again = await logistics.offline_send(
                session,
                paid.w.alice,
                paid.tid,
                company_code="sf",
                out_sid=SF1.lower(),
                order_ids=order_ids,
            )
        assert again.id == one.id
    assert await all_counts(paid.w.db) == before
    # a whole-trade retry after the trade was shipped is a retry too
    async with paid.w.db.write() as session:
        whole = await logistics.offline_send(
            session, paid.w.alice, paid.tid, company_code="SF", out_sid=SF2
        )
    before = await all_counts(paid.w.db)
    async with paid.w.db.write() as session:
        again = await logistics.offline_send(
            session, paid.w.alice, paid.tid, company_code="SF", out_sid=SF2
        )
    assert again.id == whole.id
    assert await all_counts(paid.w.db) == before


Call = Callable[[AsyncSession, Paid], Awaitable[object]]


def _send(**kwargs: object) -> Call:
    async def call(session: AsyncSession, paid: Paid) -> object:
        args: dict[str, object] = {"company_code": "SF", "out_sid": SF2, **kwargs}
        seller = paid.w.bob if args.pop("as_bob", False) else paid.w.alice
        if args.get("order_ids") == "foreign":
            args["order_ids"] = [paid.oids[0], 10_000_000]
        if args.get("order_ids") == "first":
            args["order_ids"] = [paid.oids[0]]
        return await logistics.offline_send(session, seller, paid.tid, **args)  # type: ignore[arg-type]

    return call


@pytest.mark.parametrize(
    ("call", "error", "rule"),
    [
        (_send(out_sid="SF123"), ValidationFailed, "out_sid:waybill_format"),
        (
            _send(company_code="SF", out_sid="YT1234567890123"),
            ValidationFailed,
            "out_sid:waybill_format",
        ),
        (_send(out_sid="  "), ValidationFailed, "out_sid:waybill_format"),
        (_send(company_code="DHL"), ValidationFailed, "company_code:unknown_company"),
        (
            _send(company_code="ZJS", out_sid="1234567890"),
            ValidationFailed,
            "company_code:unknown_company",
        ),
        (_send(as_bob=True), NotFound, "not_found"),
        (_send(order_ids="foreign"), ValidationFailed, "order_ids:not_in_trade"),
        (_send(order_ids="first"), ValidationFailed, "order_ids:already_shipped"),
        (_send(order_ids=[]), ValidationFailed, "order_ids:required"),
        (_send(out_sid=SF1, order_ids=None, company_code="SF"), None, None),  # the retry: fine
    ],
)
async def test_refused_sends_change_nothing(
    paid: Paid, call: Call, error: type[MercatoError] | None, rule: str | None
) -> None:
    # given a trade whose first order has left, and a carrier out of service
    async with paid.w.db.write() as session:
        await logistics.offline_send(
            session,
            paid.w.alice,
            paid.tid,
            company_code="SF",
            out_sid=SF1,
            order_ids=[paid.oids[0]],
        )
        zjs = await session.scalar(select(Carrier).where(Carrier.code == "ZJS"))
        assert zjs is not None
        zjs.status = "deleted"
    before = await all_counts(paid.w.db)
    # when
    if error is None:
        async with paid.w.db.write() as session:
            await call(session, paid)
    else:
        with pytest.raises(error) as caught:
            async with paid.w.db.write() as session:
                await call(session, paid)
        exc = caught.value
        if isinstance(exc, ValidationFailed):
            assert [f"{p.field}:{p.rule}" for p in exc.problems] == [rule]
        else:
            assert exc.code == rule
    # then
    assert await all_counts(paid.w.db) == before


async def test_an_unpaid_trade_cannot_be_shipped(paid: Paid) -> None:
    tid = await checkout(paid.w, "unpaid")
    before = await all_counts(paid.w.db)
    with pytest.raises(Conflict) as caught:
        async with paid.w.db.write() as session:
            await logistics.offline_send(session, paid.w.alice, tid, company_code="SF", out_sid=SF1)
    assert caught.value.code == "illegal_transition"
    assert await all_counts(paid.w.db) == before
    assert (await get_trade(paid.w.db, tid)).status == "WAIT_BUYER_PAY"


async def test_a_shipped_trade_cannot_be_shipped_again(paid: Paid) -> None:
    async with paid.w.db.write() as session:
        await logistics.offline_send(
            session, paid.w.alice, paid.tid, company_code="SF", out_sid=SF1
        )
    before = await all_counts(paid.w.db)
    with pytest.raises(Conflict) as caught:
        async with paid.w.db.write() as session:
            await logistics.offline_send(
                session, paid.w.alice, paid.tid, company_code="SF", out_sid=SF2
            )
    assert caught.value.code == "illegal_transition"
    # and the same waybill for other orders is refused as well
    with pytest.raises(Conflict) as caught:
        async with paid.w.db.write() as session:
            await logistics.offline_send(
                session,
                paid.w.alice,
                paid.tid,
                company_code="SF",
                out_sid=SF1,
                order_ids=[paid.oids[0]],
            )
    assert caught.value.code == "waybill_in_use"
    assert await all_counts(paid.w.db) == before
    async with paid.w.db.read() as session:
        assert len(list(await session.scalars(select(Shipment)))) == 1


async def test_the_trade_can_still_finish_after_shipping(paid: Paid) -> None:
    async with paid.w.db.write() as session:
        await logistics.offline_send(
            session, paid.w.alice, paid.tid, company_code="SF", out_sid=SF1
        )
    async with paid.w.db.write() as session:
        await trade.confirm_receipt(session, paid.w.buyer, paid.tid)
    assert (await get_trade(paid.w.db, paid.tid)).status == "TRADE_FINISHED"
