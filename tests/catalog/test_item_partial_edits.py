"""Partial item edits (the open API's way of changing one thing at a time): the item as an
input, adding and changing one SKU, setting stock with its event, listing with a quantity,
and adding or moving one image."""

from __future__ import annotations

import pytest

from mercato.catalog import service
from mercato.catalog.schemas import ItemDetail, SkuInput
from mercato.events import outbox
from mercato.kit.errors import Conflict, NotFound, ValidationFailed
from mercato.models import Item
from tests.catalog.conftest import World


async def make_items(world: World) -> tuple[Item, Item]:
    """A plain dress (10 in stock, in stock) and one with two SKUs (red S 4, blue M 6)."""
    t = world.tree
    async with world.db.write() as session:
        plain = await service.create_item(session, world.alice, t.item())
        skus = [t.sku("红色", "S", "30.00", 4), t.sku("蓝色", "M", "25.00", 6)]
        with_skus = await service.create_item(
            session, world.alice, t.item(skus=skus, approve_status="onsale")
        )
    return plain, with_skus


async def detail(world: World, item_id: int) -> ItemDetail:
    async with world.db.read() as session:
        return await service.get_own_item_detail(session, world.alice, item_id)


async def events(world: World, item_id: int) -> list[dict[str, object]]:
    async with world.db.read() as session:
        rows = await outbox.events_of(session, f"item:{item_id}")
        return [{"topic": e.topic, "seq": e.seq, **e.content} for e in rows]


class TestItemInputOf:
    async def test_saving_it_back_changes_nothing(self, world: World) -> None:
        _, item = await make_items(world)
        before = await detail(world, item.id)
        async with world.db.write() as session:
            d = await service.get_own_item_detail(session, world.alice, item.id)
            await service.update_item(session, world.alice, item.id, service.item_input_of(d))
        after = await detail(world, item.id)
        assert service.item_input_of(after) == service.item_input_of(before)
        assert [s.id for s in after.skus] == [s.id for s in before.skus]


class TestSkus:
    async def test_add_sku_keeps_the_others(self, world: World) -> None:
        t = world.tree
        _, item = await make_items(world)
        async with world.db.write() as session:
            sku = await service.add_sku(
                session,
                world.alice,
                item.id,
                SkuInput(properties=t.combo("红色", "L"), price="9.00", quantity=1),
            )
        d = await detail(world, item.id)
        assert [s.properties for s in d.skus] == [
            t.combo("红色", "S"),
            t.combo("蓝色", "M"),
            t.combo("红色", "L"),
        ]
        assert d.sku_by_properties()[t.combo("红色", "L")].id == sku.id
        assert (d.item.price, d.item.quantity) == (900, 11)

    async def test_add_sku_refuses_a_combination_it_has(self, world: World) -> None:
        t = world.tree
        _, item = await make_items(world)
        with pytest.raises(Conflict) as exc:
            async with world.db.write() as session:
                await service.add_sku(
                    session,
                    world.alice,
                    item.id,
                    SkuInput(
                        properties=t.combo("红色", "S", descending=True), price="1", quantity=1
                    ),
                )
        assert exc.value.code == "sku_exists"

    async def test_update_sku_changes_only_what_is_given(self, world: World) -> None:
        t = world.tree
        _, item = await make_items(world)
        async with world.db.write() as session:
            sku = await service.update_sku(
                session, world.alice, item.id, t.combo("蓝色", "M"), quantity=1
            )
        assert (sku.price, sku.quantity) == (2500, 1)
        assert (await detail(world, item.id)).item.quantity == 5

    async def test_update_sku_of_an_unknown_combination(self, world: World) -> None:
        t = world.tree
        _, item = await make_items(world)
        with pytest.raises(NotFound):
            async with world.db.write() as session:
                await service.update_sku(session, world.alice, item.id, t.combo("蓝色", "L"))

    async def test_another_sellers_item_does_not_exist(self, world: World) -> None:
        t = world.tree
        _, item = await make_items(world)
        with pytest.raises(NotFound):
            async with world.db.write() as session:
                await service.add_sku(
                    session,
                    world.bob,
                    item.id,
                    SkuInput(properties=t.combo("红色", "L"), price="9.00", quantity=1),
                )


class TestSetStock:
    async def test_full_then_delta_records_stock_events(self, world: World) -> None:
        plain, _ = await make_items(world)
        async with world.db.write() as session:
            await service.set_stock(session, world.alice, plain.id, 3)
        async with world.db.write() as session:
            item, sku = await service.set_stock(session, world.alice, plain.id, 2, delta=True)
        assert (item.quantity, sku) == (5, None)
        got = await events(world, plain.id)
        assert [(e["topic"], e["seq"], e["num"], e["increment"]) for e in got] == [
            ("taobao_item_ItemStockChanged", 1, 3, -7),
            ("taobao_item_ItemStockChanged", 2, 5, 2),
        ]

    async def test_no_change_records_nothing(self, world: World) -> None:
        plain, _ = await make_items(world)
        async with world.db.write() as session:
            await service.set_stock(session, world.alice, plain.id, 10)
        assert await events(world, plain.id) == []

    async def test_a_sku_changes_the_items_sum(self, world: World) -> None:
        _, item = await make_items(world)
        red_s = (await detail(world, item.id)).skus[0]
        async with world.db.write() as session:
            got, sku = await service.set_stock(session, world.alice, item.id, 0, sku_id=red_s.id)
        assert sku is not None and (sku.quantity, got.quantity) == (0, 6)
        [event] = await events(world, item.id)
        assert (event["sku_id"], event["sku_num"], event["increment"]) == (red_s.id, 0, -4)

    async def test_an_item_with_skus_needs_one(self, world: World) -> None:
        _, item = await make_items(world)
        with pytest.raises(ValidationFailed) as exc:
            async with world.db.write() as session:
                await service.set_stock(session, world.alice, item.id, 1)
        assert exc.value.problems[0].field == "sku_id"

    async def test_stock_never_goes_negative(self, world: World) -> None:
        plain, _ = await make_items(world)
        with pytest.raises(ValidationFailed) as exc:
            async with world.db.write() as session:
                await service.set_stock(session, world.alice, plain.id, -11, delta=True)
        assert exc.value.problems[0].field == "quantity"
        assert (await detail(world, plain.id)).item.quantity == 10

    async def test_another_sellers_item_does_not_exist(self, world: World) -> None:
        plain, _ = await make_items(world)
        with pytest.raises(NotFound):
            async with world.db.write() as session:
                await service.set_stock(session, world.bob, plain.id, 1)
        assert await events(world, plain.id) == []


class TestListItem:
    async def test_sets_the_stock_and_lists(self, world: World) -> None:
        plain, _ = await make_items(world)
        async with world.db.write() as session:
            item = await service.list_item(session, world.alice, plain.id, 4)
        assert (item.approve_status, item.quantity) == ("onsale", 4)

    async def test_an_item_with_skus_keeps_their_sum(self, world: World) -> None:
        _, item = await make_items(world)
        async with world.db.write() as session:
            await service.set_listing(session, world.alice, item.id, False)
            listed = await service.list_item(session, world.alice, item.id, 99)
        assert (listed.approve_status, listed.quantity) == ("onsale", 10)


class TestPutItemImage:
    async def test_adds_moves_and_replaces(self, world: World) -> None:
        plain, _ = await make_items(world)
        async with world.db.write() as session:
            a = await service.put_item_image(session, world.alice, plain.id, "items/a.png")
            b = await service.put_item_image(session, world.alice, plain.id, "items/b.png")
            c = await service.put_item_image(
                session, world.alice, plain.id, "items/c.png", major=True
            )
            await service.put_item_image(
                session, world.alice, plain.id, "items/a2.png", image_id=a.id, position=2
            )
        d = await detail(world, plain.id)
        assert [(i.id, i.url, i.position) for i in d.images] == [
            (c.id, "/media/items/c.png", 0),
            (b.id, "/media/items/b.png", 1),
            (a.id, "/media/items/a2.png", 2),
        ]
        assert d.item.pic_url == "/media/items/c.png"

    async def test_limits_and_unknown_ids(self, world: World) -> None:
        plain, _ = await make_items(world)
        async with world.db.write() as session:
            for i in range(service.MAX_IMAGES):
                await service.put_item_image(session, world.alice, plain.id, f"items/{i}.png")
        with pytest.raises(ValidationFailed) as exc:
            async with world.db.write() as session:
                await service.put_item_image(session, world.alice, plain.id, "items/x.png")
        assert exc.value.problems[0].rule == "max_count"
        with pytest.raises(NotFound):
            async with world.db.write() as session:
                await service.put_item_image(session, world.alice, plain.id, None, image_id=-1)
        with pytest.raises(ValidationFailed) as exc:
            async with world.db.write() as session:
                await service.put_item_image(session, world.alice, plain.id, None)
        assert exc.value.problems[0].rule == "missing"

    async def test_another_sellers_item_does_not_exist(self, world: World) -> None:
        plain, _ = await make_items(world)
        with pytest.raises(NotFound):
            async with world.db.write() as session:
                await service.put_item_image(session, world.bob, plain.id, "items/a.png")
