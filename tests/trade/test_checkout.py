from __future__ import annotations

import pytest
from sqlalchemy import select

from mercato.catalog import service as catalog
from mercato.kit.clock import utcnow
from mercato.kit.errors import ValidationFailed
from mercato.models import Item, Job, OutboxEvent, Sku
from mercato.trade import service as trade
from tests.trade.conftest import Shop2, counts


async def test_one_trade_per_shop_with_totals_and_snapshots(w: Shop2) -> None:
    async with w.db.write() as session:
        await trade.add_to_cart(session, w.buyer, w.dress.id, w.red_m.id, 2)
        await trade.add_to_cart(session, w.buyer, w.dress.id, w.blue_l.id, 1)
        await trade.add_to_cart(session, w.buyer, w.phone.id, 0, 1)
        trades = await trade.checkout(
            session,
            w.buyer,
            lines=None,
            address_id=w.address.id,
            buyer_messages={w.dress.shop_id: "尽快发货"},
            checkout_key="k1",
        )
    assert len(trades) == 2
    dress_trade = next(t for t in trades if t.seller_id == w.alice.id)
    phone_trade = next(t for t in trades if t.seller_id == w.bob.id)
    assert dress_trade.total_fee == 2 * 1000 + 1250 == dress_trade.payment
    assert phone_trade.total_fee == 99900 == phone_trade.payment
    assert dress_trade.status == "WAIT_BUYER_PAY"
    assert dress_trade.buyer_message == "尽快发货" and phone_trade.buyer_message == ""
    assert dress_trade.receiver_name == "张三" and dress_trade.receiver_zip == "310000"
    assert dress_trade.created == dress_trade.modified
    red = next(o for o in dress_trade.orders if o.sku_id == w.red_m.id)
    assert red.sku_properties_name == "颜色:红色;尺码:M"
    assert (red.price, red.num, red.total_fee, red.payment) == (1000, 2, 2000, 2000)
    assert red.title == w.dress.title and red.outer_iid == "D-1"
    assert red.category_id == w.tree.dresses.id
    assert phone_trade.orders[0].sku_id is None
    assert phone_trade.orders[0].sku_properties_name == ""
    async with w.db.read() as session:
        assert (await session.get(Sku, w.red_m.id)).quantity == 3  # type: ignore[union-attr]
        assert (await session.get(Sku, w.blue_l.id)).quantity == 2  # type: ignore[union-attr]
        dress = await session.get(Item, w.dress.id)
        assert dress is not None and dress.quantity == 5 and dress.sold_quantity == 0
        phone = await session.get(Item, w.phone.id)
        assert phone is not None and phone.quantity == 9
        view = await trade.view_cart(session, w.buyer)
        assert view.count == 0
        jobs = {j.key: j for j in await session.scalars(select(Job))}
        job = jobs[f"close:{dress_trade.id}"]
        assert job.kind == "trade.close_unpaid"
        assert job.run_at == dress_trade.created + trade.CLOSE_UNPAID_AFTER
        events = list(await session.scalars(select(OutboxEvent).order_by(OutboxEvent.id)))
    creates = [e for e in events if e.topic == "taobao_trade_TradeCreate"]
    assert {e.subject for e in creates} == {f"trade:{t.id}" for t in trades}
    assert all(e.seq == 1 for e in creates)
    body = next(e.content for e in creates if e.subject == f"trade:{dress_trade.id}")
    assert body["tid"] == dress_trade.id and body["payment"] == "32.50"
    assert body["buyer_nick"] == "carol" and body["seller_nick"] == "alice"
    assert body["status"] == "WAIT_BUYER_PAY" and body["type"] == "fixed"
    stock = [e for e in events if e.topic == "taobao_item_ItemStockChanged"]
    assert {e.content["num_iid"] for e in stock} == {w.dress.id, w.phone.id}


async def test_checkout_is_idempotent(w: Shop2) -> None:
    lines = [(w.dress.id, w.red_m.id, 1)]
    async with w.db.write() as session:
        first = await trade.checkout(
            session, w.buyer, lines=lines, address_id=w.address.id, checkout_key="same"
        )
    before = await counts(w.db)
    async with w.db.write() as session:
        again = await trade.checkout(
            session, w.buyer, lines=lines, address_id=w.address.id, checkout_key="same"
        )
    assert [t.id for t in again] == [t.id for t in first]
    assert await counts(w.db) == before


async def test_explicit_lines_leave_the_rest_of_the_cart(w: Shop2) -> None:
    async with w.db.write() as session:
        await trade.add_to_cart(session, w.buyer, w.dress.id, w.red_m.id, 1)
        await trade.add_to_cart(session, w.buyer, w.phone.id, 0, 1)
        await trade.checkout(
            session,
            w.buyer,
            lines=[(w.phone.id, 0, 1)],
            address_id=w.address.id,
            checkout_key="k",
        )
    async with w.db.read() as session:
        view = await trade.view_cart(session, w.buyer)
    assert [line.item_id for shop in view.shops for line in shop.lines] == [w.dress.id]


async def _bad(w: Shop2, lines: list[tuple[int, int, int]], rule: str, **kw: object) -> None:
    before = await counts(w.db)
    with pytest.raises(ValidationFailed) as caught:
        async with w.db.write() as session:
            await trade.checkout(
                session,
                w.buyer,
                lines=lines,
                address_id=int(kw.get("address_id", w.address.id)),  # type: ignore[call-overload]
                checkout_key="bad",
            )
    assert rule in {p.rule for p in caught.value.problems}, caught.value.problems
    assert await counts(w.db) == before


async def test_more_than_stock(w: Shop2) -> None:
    await _bad(w, [(w.phone.id, 0, 1), (w.dress.id, w.blue_l.id, 4)], "out_of_stock")


async def test_zero_and_negative_quantity(w: Shop2) -> None:
    await _bad(w, [(w.dress.id, w.red_m.id, 0)], "quantity")
    await _bad(w, [(w.dress.id, w.red_m.id, -1)], "quantity")
    await _bad(w, [(w.dress.id, w.red_m.id, 1000)], "quantity")


async def test_sku_of_another_item_and_missing_sku(w: Shop2) -> None:
    await _bad(w, [(w.phone.id, w.red_m.id, 1)], "sku_mismatch")
    await _bad(w, [(w.dress.id, 0, 1)], "sku_mismatch")


async def test_instock_deleted_item_and_deleted_sku(w: Shop2) -> None:
    async with w.db.write() as session:
        await catalog.set_listing(session, w.bob, w.phone.id, False)
    await _bad(w, [(w.phone.id, 0, 1)], "not_on_sale")
    async with w.db.write() as session:
        sku = await session.get(Sku, w.blue_l.id)
        assert sku is not None
        sku.status = "delete"
    await _bad(w, [(w.dress.id, w.blue_l.id, 1)], "not_on_sale")
    async with w.db.write() as session:
        await catalog.delete_item(session, w.alice, w.dress.id)
    await _bad(w, [(w.dress.id, w.red_m.id, 1)], "not_on_sale")


async def test_another_buyers_address(w: Shop2) -> None:
    await _bad(w, [(w.phone.id, 0, 1)], "not_found", address_id=w.other_address.id)


async def test_race_at_the_update_rolls_back_every_line(w: Shop2) -> None:
    """Stock that vanishes between the check and the UPDATE: the first line's stock,
    already taken, comes back with the rollback."""
    before = await counts(w.db)
    with pytest.raises(ValidationFailed) as caught:
        async with w.db.write() as session:
            # Read the rows first (as checkout does), then drain the SKU behind its back.
            await session.get(Sku, w.blue_l.id)
            await session.execute(
                Sku.__table__.update().where(Sku.id == w.blue_l.id).values(quantity=0)
            )
            await trade.checkout(
                session,
                w.buyer,
                lines=[(w.phone.id, 0, 2), (w.dress.id, w.blue_l.id, 1)],
                address_id=w.address.id,
                checkout_key="r",
            )
    assert caught.value.problems[0].rule == "out_of_stock"
    assert await counts(w.db) == before
    assert utcnow()  # clock untouched
