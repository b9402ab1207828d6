"""The sandbox service on every backend: each operation goes through the domain services
(so their rules refuse what they refuse), and moving the clock runs the timers it made due."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from mercato.config import Settings
from mercato.developer import sandbox
from mercato.kit.clock import clock, utcnow
from mercato.kit.db import Database
from mercato.kit.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from mercato.ledger.service import deposit
from mercato.logistics.carriers import CARRIERS, CarrierSpec, ensure_carriers, waybill_matches
from mercato.models import Carrier, Job, OutboxEvent, Refund, Trade
from tests.logistics.conftest import get_trade
from tests.trade.conftest import Shop2


@pytest.fixture
async def world(w: Shop2) -> Shop2:
    """The trade world, with carriers and money in carol's wallet."""
    async with w.db.write() as session:
        await ensure_carriers(session)  # the PostgreSQL fixture truncates reference data
        await deposit(session, w.buyer.id, 100_000, key="sandbox-test")
    return w


async def _order(w: Shop2, *, pay: bool = True, sku: int | None = None) -> int:
    async with w.db.write() as session:
        placed = await sandbox.place_order(
            session, "carol", num_iid=w.dress.id, sku_id=sku or w.red_m.id, pay=pay
        )
    return placed.tid


async def _count(db: Database, model: type) -> int:
    async with db.read() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


class TestTrades:
    async def test_order_pay_ship_confirm_through_the_services(self, world: Shop2) -> None:
        # given an unpaid order
        async with world.db.write() as session:
            placed = await sandbox.place_order(
                session, "carol", num_iid=world.dress.id, sku_id=world.red_m.id
            )
        assert (placed.status, placed.payment) == ("WAIT_BUYER_PAY", "10.00")
        # when it is paid, shipped and confirmed
        async with world.db.write() as session:
            paid = await sandbox.pay_trade(session, "carol", placed.tid)
        async with world.db.write() as session:
            shipped = await sandbox.ship(session, placed.tid)
        async with world.db.write() as session:
            done = await sandbox.confirm(session, "carol", placed.tid)
        # then each step moved the trade, with the services' events behind it
        assert paid.status == "WAIT_SELLER_SEND_GOODS"
        assert shipped.status == "WAIT_BUYER_CONFIRM_GOODS" and shipped.company == "SF"
        assert done.status == "TRADE_FINISHED"
        async with world.db.read() as session:
            topics = list(
                await session.scalars(
                    select(OutboxEvent.topic)
                    .where(OutboxEvent.subject == f"trade:{placed.tid}")
                    .order_by(OutboxEvent.seq)
                )
            )
        assert [t for t in topics if t.startswith("taobao_trade")] == [
            "taobao_trade_TradeCreate",
            "taobao_trade_TradeBuyerPay",
            "taobao_trade_TradeSellerShip",
            "taobao_trade_TradeSuccess",
        ]

    async def test_order_with_pay_is_paid(self, world: Shop2) -> None:
        tid = await _order(world)
        assert (await get_trade(world.db, tid)).status == "WAIT_SELLER_SEND_GOODS"

    async def test_unknown_buyer_and_buyer_without_address(self, world: Shop2) -> None:
        async with world.db.write() as session:
            with pytest.raises(NotFound, match="no user ghost"):
                await sandbox.place_order(session, "ghost", num_iid=world.dress.id)
            with pytest.raises(ValidationFailed) as refused:
                await sandbox.place_order(session, "alice", num_iid=world.dress.id)
        assert refused.value.problems[0].rule == "no_address"

    async def test_someone_elses_trade_is_not_found(self, world: Shop2) -> None:
        tid = await _order(world, pay=False)
        async with world.db.write() as session:
            with pytest.raises(NotFound):
                await sandbox.pay_trade(session, "dave", tid)
            with pytest.raises(NotFound):
                await sandbox.confirm(session, "dave", tid)
            with pytest.raises(NotFound):
                await sandbox.refund(session, "dave", tid)

    async def test_confirming_an_unshipped_trade_is_refused(self, world: Shop2) -> None:
        tid = await _order(world)
        async with world.db.write() as session:
            with pytest.raises(Conflict) as refused:
                await sandbox.confirm(session, "carol", tid)
        assert refused.value.code == "illegal_transition"
        assert (await get_trade(world.db, tid)).status == "WAIT_SELLER_SEND_GOODS"


class TestShip:
    async def test_a_chosen_carrier_gets_a_waybill_of_its_shape(self, world: Shop2) -> None:
        tid = await _order(world)
        async with world.db.write() as session:
            shipped = await sandbox.ship(session, tid, company="ems")
        assert shipped.company == "EMS" and shipped.waybill.startswith("E")
        async with world.db.write() as session:  # the same call again is a retry
            again = await sandbox.ship(session, tid, company="EMS")
        assert again.waybill == shipped.waybill

    async def test_unknown_carrier_and_bad_waybill_are_the_services_refusals(
        self, world: Shop2
    ) -> None:
        tid = await _order(world)
        async with world.db.write() as session:
            with pytest.raises(ValidationFailed) as unknown:
                await sandbox.ship(session, tid, company="NOPE")
            with pytest.raises(ValidationFailed) as bad:
                await sandbox.ship(session, tid, company="SF", waybill="123")
        assert unknown.value.problems[0].rule == "unknown_company"
        assert bad.value.problems[0].rule == "waybill_format"

    async def test_an_unpaid_trade_cannot_ship(self, world: Shop2) -> None:
        tid = await _order(world, pay=False)
        async with world.db.write() as session:
            with pytest.raises(Conflict):
                await sandbox.ship(session, tid)
            with pytest.raises(NotFound):
                await sandbox.ship(session, 999_999)


@pytest.mark.parametrize("spec", CARRIERS, ids=lambda s: s.code)
def test_sample_waybills_pass_every_carriers_check(spec: CarrierSpec) -> None:
    carrier = Carrier(code=spec.code, name=spec.name, reg_mail_no=spec.reg_mail_no)
    for tid in (1, 42, 123_456_789):
        assert waybill_matches(carrier, sandbox.sample_waybill(carrier, tid))


def test_an_unusual_pattern_asks_for_the_waybill() -> None:
    carrier = Carrier(code="X", name="X", reg_mail_no=r"^(AB|CD)\d{4}$")
    with pytest.raises(ValidationFailed):
        sandbox.sample_waybill(carrier, 7)


class TestRefund:
    async def test_whole_trade_refunds_every_order_in_full(self, world: Shop2) -> None:
        # given a paid trade of two orders
        tid = await _two_orders(world)
        # when
        async with world.db.write() as session:
            made = await sandbox.refund(session, "carol", tid)
        # then one request per order, for all it paid
        assert made.status == "WAIT_SELLER_AGREE" and len(made.refund_ids) == 2
        assert made.refund_fee == "22.50" and made.refund_id == made.refund_ids[0]
        async with world.db.write() as session:  # nothing is left to ask for
            with pytest.raises(Conflict) as again:
                await sandbox.refund(session, "carol", tid)
        assert again.value.code == "nothing_to_refund"

    async def test_one_order_part_amount_with_goods_returned(self, world: Shop2) -> None:
        tid = await _order(world)
        async with world.db.write() as session:
            await sandbox.ship(session, tid)
        oid = (await get_trade(world.db, tid)).orders[0].id
        async with world.db.write() as session:
            made = await sandbox.refund(
                session, "carol", tid, oid=oid, amount=250, reason="太大", return_goods=True
            )
        async with world.db.read() as session:
            row = await session.get(Refund, made.refund_id)
        assert row is not None
        assert (row.refund_fee, row.reason, row.dispute_type) == (250, "太大", "REFUND_AND_RETURN")

    async def test_refusals(self, world: Shop2) -> None:
        tid = await _two_orders(world)
        unpaid = await _order(world, pay=False, sku=world.blue_l.id)
        async with world.db.write() as session:
            with pytest.raises(ValidationFailed, match="oid"):  # a part needs one order
                await sandbox.refund(session, "carol", tid, amount=100)
            with pytest.raises(ValidationFailed) as too_much:
                order = (await session.get(Trade, tid)).orders[0]  # type: ignore[union-attr]
                await sandbox.refund(session, "carol", tid, oid=order.id, amount=999_999)
            with pytest.raises(NotFound):
                await sandbox.refund(session, "carol", tid, oid=123_456)
            with pytest.raises(Conflict):  # not paid yet
                await sandbox.refund(session, "carol", unpaid)
        assert too_much.value.problems[0].rule == "max_refund"
        assert await _count(world.db, Refund) == 0


async def _two_orders(w: Shop2) -> int:
    from mercato.trade import service as trade

    async with w.db.write() as session:
        placed = await trade.checkout(
            session,
            w.buyer,
            lines=[(w.dress.id, w.red_m.id, 1), (w.dress.id, w.blue_l.id, 1)],
            address_id=w.address.id,
            checkout_key="two",
        )
    async with w.db.write() as session:
        await sandbox.pay_trade(session, "carol", placed[0].id)
    return placed[0].id


class TestClock:
    async def test_advancing_closes_an_unpaid_trade_at_once(self, world: Shop2) -> None:
        tid = await _order(world, pay=False)
        moved = await sandbox.move_clock(world.db, advance="31m")
        assert moved.offset == timedelta(minutes=31) and moved.jobs_run >= 1
        assert (await get_trade(world.db, tid)).status == "TRADE_CLOSED_BY_TAOBAO"

    async def test_advancing_confirms_a_shipped_trade(self, world: Shop2) -> None:
        tid = await _order(world)
        async with world.db.write() as session:
            await sandbox.ship(session, tid)
        await sandbox.move_clock(world.db, advance="9d")
        assert (await get_trade(world.db, tid)).status == "WAIT_BUYER_CONFIRM_GOODS"
        await sandbox.move_clock(world.db, advance="1d1h")
        assert (await get_trade(world.db, tid)).status == "TRADE_FINISHED"

    async def test_steps_add_up_and_reset_returns_to_the_wall_clock(self, world: Shop2) -> None:
        await sandbox.move_clock(world.db, advance="1h")
        moved = await sandbox.move_clock(world.db, advance="90m")
        assert moved.offset == timedelta(minutes=150) == clock.shared_offset
        assert moved.now - utcnow() < timedelta(seconds=5)
        async with world.db.read() as session:
            assert (await sandbox.clock_state(session)).offset == timedelta(minutes=150)
        reset = await sandbox.move_clock(world.db, reset=True)
        assert reset.offset == timedelta() == clock.shared_offset

    @pytest.mark.parametrize("text", ["-3d", "3", "d", "3w", "1.5h", "0s", "", "3650d1s"])
    async def test_malformed_durations_are_refused(self, world: Shop2, text: str) -> None:
        with pytest.raises(ValidationFailed) as refused:
            await sandbox.move_clock(world.db, advance=text)
        assert refused.value.problems[0].field == "advance"
        async with world.db.read() as session:
            assert (await sandbox.clock_state(session)).offset == timedelta()
        assert await _count(world.db, Job) == 0

    async def test_advance_or_reset_not_both(self, world: Shop2) -> None:
        with pytest.raises(ValidationFailed):
            await sandbox.move_clock(world.db, advance="1d", reset=True)
        with pytest.raises(ValidationFailed):
            await sandbox.move_clock(world.db)


def test_the_setting_turns_the_tools_off() -> None:
    sandbox.check_enabled(Settings(sandbox_tools=True))
    with pytest.raises(PermissionDenied) as refused:
        sandbox.check_enabled(Settings(sandbox_tools=False))
    assert refused.value.code == "sandbox_disabled"


async def test_cast_lists_buyers_with_an_address_and_shops_with_items(world: Shop2) -> None:
    async with world.db.read() as session:
        cast = await sandbox.cast(session)
    assert cast.buyers == ["carol", "dave"]
    by_seller = {shop.seller: shop for shop in cast.shops}
    assert set(by_seller) == {"alice", "bob"}
    dress = by_seller["alice"].items[0]
    assert (dress.num_iid, dress.sku_id) == (world.dress.id, world.red_m.id)
    assert by_seller["bob"].items[0].sku_id == 0
