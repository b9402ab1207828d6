"""Creating, updating, listing and deleting items; SKUs; tenancy; item pages."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from mercato.catalog import service
from mercato.catalog.schemas import ItemDetail, ItemInput, SaleValue
from mercato.kit.clock import clock, utcnow
from mercato.kit.errors import NotFound, ValidationFailed
from mercato.kit.pagination import PageRequest
from mercato.kit.storage import LocalStorage
from mercato.models import Item, Sku, User
from tests.catalog.conftest import World
from tests.factories.catalog import make_shop_category


async def create(world: World, data: ItemInput, seller: User | None = None) -> Item:
    async with world.db.write() as session:
        return await service.create_item(session, seller or world.alice, data)


async def update(world: World, item_id: int, data: ItemInput, seller: User | None = None) -> Item:
    async with world.db.write() as session:
        return await service.update_item(session, seller or world.alice, item_id, data)


async def detail(world: World, item_id: int, viewer: User | None = None) -> ItemDetail:
    async with world.db.read() as session:
        return await service.get_item_detail(session, item_id, viewer)


async def all_skus(world: World, item_id: int) -> dict[str, Sku]:
    async with world.db.read() as session:
        rows = await session.scalars(select(Sku).where(Sku.item_id == item_id))
        return {sku.properties: sku for sku in rows}


class TestSkus:
    async def test_price_is_the_lowest_and_quantity_the_sum(self, world: World) -> None:
        t = world.tree
        skus = [
            t.sku("红色", "S", "30.00", 1),
            t.sku("红色", "M", "25.50", 2),
            t.sku("蓝色", "L", "40", 3),
        ]
        # given the item's own price and quantity too, which SKUs override
        item = await create(world, t.item(price="1.00", quantity=99, skus=skus))
        assert (item.price, item.quantity) == (2550, 6)

    async def test_properties_are_stored_sorted_by_pid(self, world: World) -> None:
        t = world.tree
        item = await create(world, t.item(skus=[t.sku("蓝色", "M")]))
        assert list(await all_skus(world, item.id)) == [t.combo("蓝色", "M")]

    async def test_a_category_with_sale_props_may_go_without_skus(self, world: World) -> None:
        item = await create(world, world.tree.item(price="12.30", quantity=4))
        assert (item.price, item.quantity) == (1230, 4)
        assert await all_skus(world, item.id) == {}

    async def test_update_keeps_ids_and_soft_deletes_removed_skus(self, world: World) -> None:
        t = world.tree
        item = await create(
            world, t.item(skus=[t.sku("红色", "S"), t.sku("红色", "M"), t.sku("蓝色", "S")])
        )
        before = await all_skus(world, item.id)
        # when red/S goes, red/M changes price, blue/S stays and blue/L is new
        skus = [
            t.sku("红色", "M", "8.00", 7),
            t.sku("蓝色", "S", "12.00", 1),
            t.sku("蓝色", "L", "20", 2),
        ]
        updated = await update(world, item.id, t.item(skus=skus))
        after = await all_skus(world, item.id)
        red_s, red_m, blue_s = t.combo("红色", "S"), t.combo("红色", "M"), t.combo("蓝色", "S")
        # then
        assert set(after) == {red_s, red_m, blue_s, t.combo("蓝色", "L")}
        assert after[red_m].id == before[red_m].id and after[blue_s].id == before[blue_s].id
        assert (after[red_m].price, after[red_m].quantity) == (800, 7)
        assert after[red_s].id == before[red_s].id and after[red_s].status == "delete"
        assert (updated.price, updated.quantity) == (800, 10)
        page = await detail(world, item.id, world.alice)
        assert {s.properties for s in page.skus} == set(after) - {red_s}

    async def test_a_returning_combination_gets_its_old_id_back(self, world: World) -> None:
        t = world.tree
        item = await create(world, t.item(skus=[t.sku("红色", "S"), t.sku("蓝色", "S")]))
        old_ids = {s.id for s in (await all_skus(world, item.id)).values()}
        await update(world, item.id, t.item(skus=[t.sku("蓝色", "S")]))
        await update(world, item.id, t.item(skus=[t.sku("红色", "S"), t.sku("蓝色", "S")]))
        skus = await all_skus(world, item.id)
        assert {s.id for s in skus.values()} == old_ids
        assert {s.status for s in skus.values()} == {"normal"}

    async def test_dropping_all_skus_uses_the_items_own_numbers(self, world: World) -> None:
        t = world.tree
        item = await create(world, t.item(skus=[t.sku("红色", "S", "5", 5)]))
        updated = await update(world, item.id, t.item(price="66.00", quantity=3))
        assert (updated.price, updated.quantity) == (6600, 3)
        assert {s.status for s in (await all_skus(world, item.id)).values()} == {"delete"}


class TestUpdate:
    async def test_fields_props_images_and_shop_categories_are_replaced(self, world: World) -> None:
        t = world.tree
        async with world.db.write() as session:
            new_cat = await make_shop_category(session, world.alice_shop, "New")
            sale_cat = await make_shop_category(session, world.alice_shop, "Sale")
        item = await create(
            world,
            t.item(
                image_keys=["items/aa/1.png", "items/bb/2.png"],
                input_props={t.style_no.id: "A-1"},
                seller_cat_ids=[new_cat.id],
            ),
        )
        data = t.item(
            title="  Summer floral dress  ",
            props={t.brand.id: [t.vid(t.brand, "Zeta")], t.material.id: [t.vid(t.material, "麻")]},
            image_keys=["items/cc/3.webp"],
            seller_cat_ids=[sale_cat.id, new_cat.id],
            location_state="浙江",
            location_city="杭州",
        )
        await update(world, item.id, data)
        page = await detail(world, item.id, world.alice)
        assert page.item.title == "Summer floral dress"
        assert (page.item.location_state, page.item.location_city) == ("浙江", "杭州")
        assert [img.url for img in page.images] == ["/media/items/cc/3.webp"]
        assert page.item.pic_url == "/media/items/cc/3.webp"
        assert page.props == [("品牌", ["Zeta"]), ("材质", ["麻"])]
        assert page.input_props == {}
        assert sorted(page.seller_cat_ids) == sorted([new_cat.id, sale_cat.id])

    async def test_a_rejected_update_changes_nothing(self, world: World) -> None:
        item = await create(world, world.tree.item(title="Before"))
        with pytest.raises(ValidationFailed):
            await update(world, item.id, world.tree.item(title="After", price="-1"))
        assert (await detail(world, item.id, world.alice)).item.title == "Before"


class TestListing:
    async def test_listing_needs_stock(self, world: World) -> None:
        item = await create(world, world.tree.item(quantity=0))
        with pytest.raises(ValidationFailed) as err:
            async with world.db.write() as session:
                await service.set_listing(session, world.alice, item.id, onsale=True)
        assert [(p.field, p.rule) for p in err.value.problems] == [("quantity", "for_sale")]

    async def test_list_and_delist_stamp_the_times(self, world: World) -> None:
        item = await create(world, world.tree.item())
        assert item.approve_status == "instock" and item.list_time is None
        async with world.db.write() as session:
            listed = await service.set_listing(session, world.alice, item.id, onsale=True)
        assert listed.approve_status == "onsale"
        assert listed.list_time is not None and abs(listed.list_time - utcnow()) < timedelta(
            seconds=5
        )
        clock.advance(timedelta(hours=1))
        try:
            async with world.db.write() as session:
                delisted = await service.set_listing(session, world.alice, item.id, onsale=False)
        finally:
            clock.reset()
        assert delisted.approve_status == "instock"
        assert delisted.delist_time is not None
        assert delisted.delist_time - listed.list_time >= timedelta(hours=1)

    async def test_creating_on_sale_stamps_the_list_time(self, world: World) -> None:
        item = await create(world, world.tree.item(approve_status="onsale"))
        assert item.approve_status == "onsale" and item.list_time is not None

    async def test_delete_hides_the_item_but_keeps_rows(self, world: World) -> None:
        t = world.tree
        item = await create(world, t.item(approve_status="onsale", skus=[t.sku("红色", "S")]))
        async with world.db.write() as session:
            await service.delete_item(session, world.alice, item.id)
        with pytest.raises(NotFound):
            await detail(world, item.id, world.alice)
        async with world.db.read() as session:
            page = await service.list_seller_items(session, world.alice, None, PageRequest())
            kept = await session.get(Item, item.id)
        assert page.total == 0
        assert kept is not None and kept.approve_status == "deleted"
        assert {s.status for s in (await all_skus(world, item.id)).values()} == {"delete"}


class TestTenancy:
    async def test_another_seller_cannot_touch_the_item(self, world: World) -> None:
        item = await create(world, world.tree.item(title="Alice's dress"))
        attempts = [
            lambda s: service.update_item(s, world.bob, item.id, world.tree.item(title="Mine")),
            lambda s: service.set_listing(s, world.bob, item.id, onsale=True),
            lambda s: service.delete_item(s, world.bob, item.id),
        ]
        for attempt in attempts:
            with pytest.raises(NotFound):
                async with world.db.write() as session:
                    await attempt(session)
        page = await detail(world, item.id, world.alice)
        assert (page.item.title, page.item.approve_status) == ("Alice's dress", "instock")

    async def test_an_item_in_stock_is_seen_by_its_seller_only(self, world: World) -> None:
        item = await create(world, world.tree.item())
        assert (await detail(world, item.id, world.alice)).item.id == item.id
        for viewer in (world.bob, None):
            with pytest.raises(NotFound):
                await detail(world, item.id, viewer)
        async with world.db.write() as session:
            await service.set_listing(session, world.alice, item.id, onsale=True)
        for viewer in (world.bob, None):
            assert (await detail(world, item.id, viewer)).item.id == item.id

    async def test_seller_lists_hold_their_own_items_only(self, world: World) -> None:
        mine = await create(world, world.tree.item(title="Alice instock"))
        onsale = await create(world, world.tree.item(title="Alice onsale", approve_status="onsale"))
        await create(world, world.tree.item(title="Bob's"), seller=world.bob)
        async with world.db.read() as session:
            everything = await service.list_seller_items(session, world.alice, None, PageRequest())
            on_sale = await service.list_seller_items(session, world.alice, "onsale", PageRequest())
            with pytest.raises(ValidationFailed):
                await service.list_seller_items(session, world.alice, "deleted", PageRequest())
        assert {i.id for i in everything.items} == {mine.id, onsale.id}
        assert [i.id for i in on_sale.items] == [onsale.id]


class TestDetailAndContent:
    async def test_props_and_sale_props_are_resolved_for_display(self, world: World) -> None:
        t = world.tree
        data = t.item(
            props={
                t.brand.id: [t.vid(t.brand, "Acme")],
                t.material.id: [t.vid(t.material, "丝"), t.vid(t.material, "棉")],
            },
            input_props={t.style_no.id: " D-2024 "},
            skus=[t.sku("蓝色", "M"), t.sku("蓝色", "S"), t.sku("红色", "M")],
        )
        page = await detail(world, (await create(world, data)).id, world.alice)
        assert page.props == [("品牌", ["Acme"]), ("材质", ["棉", "丝"]), ("货号", ["D-2024"])]
        assert [(p.name, p.is_color) for p in page.sale_props] == [("颜色", True), ("尺码", False)]
        assert page.sale_props[0].values == [
            SaleValue(t.vid(t.color, "红色"), "红色"),
            SaleValue(t.vid(t.color, "蓝色"), "蓝色"),
        ]
        assert [v.name for v in page.sale_props[1].values] == ["S", "M"]  # L is unused
        assert page.category.id == t.dresses.id and page.shop.id == world.alice_shop.id

    async def test_description_is_sanitized(self, world: World) -> None:
        html = (
            '<p onclick="steal()">Soft <b>cotton</b><script>alert(1)</script></p>'
            "<style>body{display:none}</style>"
            '<img src="https://img.example/a.jpg" alt="front" onerror="steal()">'
            '<a href="javascript:steal()">x</a><iframe src="https://evil"></iframe>'
        )
        item = await create(world, world.tree.item(description=html))
        assert item.description == (
            '<p>Soft <b>cotton</b></p><img src="https://img.example/a.jpg" alt="front">'
            '<a rel="noopener noreferrer nofollow">x</a>'
        )

    async def test_images_become_storage_urls_and_the_first_is_major(
        self, world: World, tmp_path: Path
    ) -> None:
        storage = LocalStorage(tmp_path, base_url="/files")
        async with world.db.write() as session:
            item = await service.create_item(
                session,
                world.alice,
                world.tree.item(image_keys=["items/aa/1.png", "items/bb/2.jpg"]),
                storage=storage,
            )
        assert item.pic_url == "/files/items/aa/1.png"
        page = await detail(world, item.id, world.alice)
        assert [(i.url, i.position) for i in page.images] == [
            ("/files/items/aa/1.png", 0),
            ("/files/items/bb/2.jpg", 1),
        ]

    async def test_an_item_page_round_trips_into_an_update(self, world: World) -> None:
        t = world.tree
        item = await create(
            world, t.item(image_keys=["items/aa/1.png"], input_props={t.style_no.id: "X"})
        )
        page = await detail(world, item.id, world.alice)
        again = t.item(
            props=page.prop_vids,
            input_props=page.input_props,
            image_keys=[i.url for i in page.images],
        )
        await update(world, item.id, again)
        after = await detail(world, item.id, world.alice)
        assert after.props == page.props and [i.url for i in after.images] == [
            "/media/items/aa/1.png"
        ]
