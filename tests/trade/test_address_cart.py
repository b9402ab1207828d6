from __future__ import annotations

import pytest
from sqlalchemy import select

from mercato.kit.errors import NotFound, ValidationFailed
from mercato.models import Sku
from mercato.trade import service as trade
from tests.trade.conftest import Shop2, address_input


async def test_address_rules(w: Shop2) -> None:
    async with w.db.write() as session:
        with pytest.raises(ValidationFailed) as caught:
            await trade.add_address(
                session, w.buyer, address_input(name=" ", mobile="123", city="", zip="1")
            )
        assert caught.value.by_field().keys() == {"name", "mobile", "city", "zip"}
        phone = await trade.add_address(
            session, w.buyer, address_input(mobile="0571-88886666", is_default=True)
        )
        book = await trade.list_addresses(session, w.buyer)
        assert [a.id for a in book if a.is_default] == [phone.id]
        await trade.delete_address(session, w.buyer, phone.id)
        book = await trade.list_addresses(session, w.buyer)
        assert [a.id for a in book if a.is_default] == [w.address.id]
        with pytest.raises(NotFound):
            await trade.update_address(session, w.buyer, w.other_address.id, address_input())


async def test_cart_merges_and_flags_unbuyable_lines(w: Shop2) -> None:
    async with w.db.write() as session:
        line = await trade.add_to_cart(session, w.buyer, w.dress.id, w.red_m.id, 2)
        again = await trade.add_to_cart(session, w.buyer, w.dress.id, w.red_m.id, 3)
        assert again.id == line.id and again.quantity == 5
        with pytest.raises(ValidationFailed):
            await trade.add_to_cart(session, w.buyer, w.dress.id, w.red_m.id, 995)
        with pytest.raises(ValidationFailed):
            await trade.add_to_cart(session, w.buyer, w.phone.id, w.red_m.id, 1)
        await trade.add_to_cart(session, w.buyer, w.phone.id, 0, 1)
        sku = await session.scalar(select(Sku).where(Sku.id == w.red_m.id))
        assert sku is not None
        sku.quantity = 1
    async with w.db.read() as session:
        view = await trade.view_cart(session, w.buyer)
    assert len(view.shops) == 2
    lines = {line.item_id: line for shop in view.shops for line in shop.lines}
    assert lines[w.dress.id].problem == "out_of_stock"
    assert lines[w.dress.id].sku_properties_name == "颜色:红色;尺码:M"
    assert lines[w.phone.id].buyable and view.total_fee == 99900
