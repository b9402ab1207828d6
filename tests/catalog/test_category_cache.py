"""Item reads keep a category's properties briefly (catalog.service._shown_category), yet
an operator's change to them shows on the very next read in this process."""

from __future__ import annotations

from mercato.catalog import service
from mercato.models import ItemProp, PropValue
from tests.catalog.conftest import World


async def _prop_names(world: World, item_id: int) -> dict[str, list[str]]:
    async with world.db.read() as session:
        detail = await service.get_item_detail(session, item_id, world.alice)
        (view,) = await service.get_own_item_views(session, world.alice, [item_id])
    assert view.detail.props == detail.props
    return {line.name: line.values for line in detail.props}


async def test_renamed_property_and_value_show_at_once(world: World) -> None:
    async with world.db.write() as session:
        item = await service.create_item(session, world.alice, world.tree.item())
    assert (await _prop_names(world, item.id))["品牌"] == ["Acme"]  # now cached
    async with world.db.write() as session:
        prop = await session.get(ItemProp, world.tree.brand.id)
        value = await session.get(PropValue, world.tree.vid(world.tree.brand, "Acme"))
        assert prop is not None and value is not None
        prop.name, value.name = "品牌名", "Acme Co"
    assert (await _prop_names(world, item.id))["品牌名"] == ["Acme Co"]


async def test_new_property_shows_at_once(world: World) -> None:
    async with world.db.write() as session:
        item = await service.create_item(session, world.alice, world.tree.item())
    await _prop_names(world, item.id)
    async with world.db.write() as session:
        session.add(ItemProp(category_id=world.tree.dresses.id, name="季节", values=[]))
    async with world.db.read() as session:
        (view,) = await service.get_own_item_views(session, world.alice, [item.id])
    assert any(p.name == "季节" for p in view.props.values())
