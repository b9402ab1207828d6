from __future__ import annotations

import asyncio

from sqlalchemy import func, select

from mercato.kit.errors import ValidationFailed
from mercato.models import Item, Sku, Trade
from mercato.trade import service as trade
from tests.trade.conftest import Shop2, address_input, make_buyer

BUYERS = 200


async def test_no_oversell_under_concurrent_checkouts(w: Shop2) -> None:
    # given: a SKU with stock 10 and 200 buyers, each with an address
    async with w.db.write() as session:
        sku = await session.get(Sku, w.red_m.id)
        item = await session.get(Item, w.dress.id)
        assert sku is not None and item is not None
        item.quantity += 10 - sku.quantity
        sku.quantity = 10
        buyers = [make_buyer(f"racer{i}") for i in range(BUYERS)]
        session.add_all(buyers)
        await session.flush()
        addresses = [await trade.add_address(session, b, address_input()) for b in buyers]
    item_before = 10 + w.blue_l.quantity

    async def buy(i: int) -> bool:
        try:
            async with w.db.write() as session:
                await trade.checkout(
                    session,
                    buyers[i],
                    lines=[(w.dress.id, w.red_m.id, 1)],
                    address_id=addresses[i].id,
                    checkout_key=f"race-{i}",
                )
            return True
        except ValidationFailed as exc:
            assert exc.problems[0].rule == "out_of_stock"
            return False

    # when
    results = await asyncio.gather(*(buy(i) for i in range(BUYERS)))

    # then
    assert sum(results) == 10
    async with w.db.read() as session:
        assert await session.scalar(select(func.count()).select_from(Trade)) == 10
        sku = await session.get(Sku, w.red_m.id)
        item = await session.get(Item, w.dress.id)
        assert sku is not None and item is not None
        assert sku.quantity == 0
        assert item.quantity == item_before - 10
