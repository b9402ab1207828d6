"""The platform category tree and category props."""

from __future__ import annotations

import pytest

from mercato.catalog import service
from mercato.kit.errors import NotFound
from tests.catalog.conftest import World


async def test_tree_is_sorted_and_hides_closed_categories(world: World) -> None:
    async with world.db.read() as session:
        tree = await service.category_tree(session)
    shape = [(n.category.name, [c.category.name for c in n.children]) for n in tree]
    assert shape == [("女装", ["上衣", "连衣裙"]), ("数码", ["手机"])]


async def test_leaf_categories_are_the_open_leaves(world: World) -> None:
    async with world.db.read() as session:
        leaves = await service.leaf_categories(session)
    assert {c.name for c in leaves} == {"上衣", "连衣裙", "手机"}


async def test_category_props_come_with_their_values(world: World) -> None:
    t = world.tree
    async with world.db.read() as session:
        props = await service.category_props(session, t.dresses.id)
        assert await service.category_props(session, t.phones.id) == []
        with pytest.raises(NotFound):
            await service.category_props(session, 999_999)
    assert [p.name for p in props] == ["品牌", "材质", "货号", "颜色", "尺码"]
    assert [v.name for v in props[-1].values] == ["S", "M", "L"]


async def test_get_category(world: World) -> None:
    async with world.db.read() as session:
        category = await service.get_category(session, world.tree.dresses.id)
        with pytest.raises(NotFound):
            await service.get_category(session, 999_999)
    assert category.path == f"/{world.tree.clothing.id}/{world.tree.dresses.id}/"
