"""The seller workbench: opening a shop, shop settings, and the item form with its SKU
matrix and image uploads. Denied and refused posts are checked to have changed nothing."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from mercato.kit.db import Database
from mercato.models import Item, Shop, ShopCategory
from tests.factories.catalog import CatalogTree
from tests.web.conftest import Browser, NewBrowser, add_item, png, shop_of, sku_key


async def _count(db: Database, model: Any) -> int:
    async with db.read() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def _item(db: Database, item_id: int) -> Item:
    async with db.read() as session:
        item = await session.scalar(
            select(Item)
            .where(Item.id == item_id)
            .options(selectinload(Item.skus), selectinload(Item.images))
        )
    assert item is not None
    return item


def _item_form(tree: CatalogTree, **changes: Any) -> dict[str, Any]:
    """The item form as a browser would post it after the script built the SKU matrix."""
    form: dict[str, Any] = {
        "category_id": str(tree.dresses.id),
        "title": "复古碎花连衣裙 Vintage dress",
        "price": "",
        "quantity": "",
        "outer_id": "D-001",
        "location_state": "浙江",
        "location_city": "杭州",
        "approve_status": "onsale",
        "description": "<p>真丝 <em>silk</em></p><script>x()</script>",
        f"prop-{tree.brand.id}": str(tree.vid(tree.brand, "Acme")),
        f"prop-{tree.material.id}": [
            str(tree.vid(tree.material, "棉")),
            str(tree.vid(tree.material, "丝")),
        ],
        f"input-{tree.style_no.id}": "A-77",
        f"sale-{tree.color.id}": [str(tree.vid(tree.color, "红色"))],
        f"sale-{tree.size.id}": [str(tree.vid(tree.size, "S")), str(tree.vid(tree.size, "M"))],
        "sku-0-properties": sku_key(tree, "红色", "S"),
        "sku-0-price": "88.00",
        "sku-0-quantity": "5",
        "sku-0-outer_id": "D-001-RS",
        "sku-1-properties": sku_key(tree, "红色", "M"),
        "sku-1-price": "",  # left empty: this combination is not sold
        "sku-1-quantity": "",
        "sku-1-outer_id": "",
    }
    form.update(changes)
    return form


class TestAccess:
    async def test_anonymous_is_sent_to_sign_in(self, anon: Browser) -> None:
        response = await anon.get("/seller")
        assert response.status_code == 303
        assert response.headers["location"] == "/login?next=/seller"

    async def test_user_without_shop_is_sent_to_open_one(self, new_browser: NewBrowser) -> None:
        browser = await new_browser()
        await browser.sign_up("carol")
        response = await browser.get("/seller")
        assert response.status_code == 303
        assert response.headers["location"] == "/seller/shop/open"
        assert (await browser.get("/seller/items/new")).status_code == 403

    async def test_post_without_csrf_token_is_refused_and_changes_nothing(
        self, new_browser: NewBrowser, db: Database
    ) -> None:
        browser = await new_browser()
        await browser.sign_up("mallory")
        response = await browser.post("/seller/shop/open", {"title": "Forged"}, csrf=False)
        assert response.status_code == 403
        assert "another site" in response.text
        bad = await browser.post(
            "/seller/shop/open", {"title": "Forged", "csrf_token": "0" * 64}, csrf=False
        )
        assert bad.status_code == 403
        assert await _count(db, Shop) == 0


class TestOpenShop:
    async def test_open_shop_then_seller_home(self, new_browser: NewBrowser, db: Database) -> None:
        browser = await new_browser()
        await browser.sign_up("dave")
        form = await browser.get("/seller/shop/open")
        assert form.status_code == 200 and "开店" in form.text
        response = await browser.post(
            "/seller/shop/open", {"title": "Dave 杂货铺", "bulletin": "欢迎"}
        )
        assert response.status_code == 303
        assert response.headers["location"] == "/seller?msg=opened"
        home = await browser.get("/seller?msg=opened")
        assert home.status_code == 200
        assert "Dave 杂货铺" in home.text and "Your shop is open" in home.text
        # A second visit to the form goes to the workbench instead.
        again = await browser.get("/seller/shop/open")
        assert again.status_code == 303 and again.headers["location"] == "/seller"

    async def test_invalid_shop_is_shown_again_with_the_problem(
        self, new_browser: NewBrowser, db: Database
    ) -> None:
        browser = await new_browser()
        await browser.sign_up("erin")
        response = await browser.post(
            "/seller/shop/open", {"title": "x", "description": "我的描述 kept"}
        )
        assert response.status_code == 422
        assert 'class="field has-error"' in response.text
        assert "我的描述 kept" in response.text
        assert await _count(db, Shop) == 0


class TestShopSettings:
    async def test_edit_settings_and_upload_a_logo(self, seller: Browser, db: Database) -> None:
        page = await seller.get("/seller/shop")
        assert page.status_code == 200 and "Alice 小铺" in page.text
        response = await seller.post(
            "/seller/shop",
            {"title": "Alice 新店名", "description": "d", "bulletin": "b"},
            files={"logo": ("logo.png", png(), "image/png")},
        )
        assert response.status_code == 303
        shop = await shop_of(db, "alice")
        assert shop.title == "Alice 新店名"
        assert shop.logo_key is not None and shop.logo_key.startswith("logos/")
        logo = await seller.get(f"/media/{shop.logo_key}")
        assert logo.status_code == 200 and logo.content == png()

    async def test_a_file_that_is_not_an_image_is_refused(
        self, seller: Browser, db: Database
    ) -> None:
        response = await seller.post(
            "/seller/shop",
            {"title": "Alice 新店名"},
            files={"logo": ("evil.png", b"<svg onload=alert(1)>", "image/png")},
        )
        assert response.status_code == 422
        assert "use a JPEG, PNG, WebP or GIF image" in response.text
        assert (await shop_of(db, "alice")).title == "Alice 小铺"

    async def test_shop_categories_add_rename_delete(self, seller: Browser, db: Database) -> None:
        response = await seller.post("/seller/shop/categories", {"name": "上装", "sort_order": "1"})
        assert response.status_code == 303
        async with db.read() as session:
            parent = await session.scalar(select(ShopCategory).where(ShopCategory.name == "上装"))
        assert parent is not None
        child = await seller.post(
            "/seller/shop/categories", {"name": "T恤", "parent_id": str(parent.id)}
        )
        assert child.status_code == 303
        bad = await seller.post("/seller/shop/categories", {"name": "", "sort_order": "x"})
        assert bad.status_code == 422
        renamed = await seller.post(
            f"/seller/shop/categories/{parent.id}", {"name": "上衣 Tops", "sort_order": "2"}
        )
        assert renamed.status_code == 303
        page = await seller.get("/seller/shop")
        assert "上衣 Tops" in page.text and "T恤" in page.text
        deleted = await seller.post(f"/seller/shop/categories/{parent.id}/delete")
        assert deleted.status_code == 303
        assert await _count(db, ShopCategory) == 0


class TestItemForm:
    async def test_category_chooser_then_form(self, seller: Browser, tree: CatalogTree) -> None:
        chooser = await seller.get("/seller/items/new")
        assert chooser.status_code == 200
        assert f"/seller/items/new?cid={tree.dresses.id}" in chooser.text
        assert f"?cid={tree.clothing.id}" not in chooser.text  # parents are not choosable
        parent = await seller.get(f"/seller/items/new?cid={tree.clothing.id}")
        assert parent.status_code == 422 and "without subcategories" in parent.text
        for cid in ("424242", "abc"):
            unknown = await seller.get(f"/seller/items/new?cid={cid}")
            assert unknown.status_code == 422 and "No such category" in unknown.text
        form = await seller.get(f"/seller/items/new?cid={tree.dresses.id}")
        assert form.status_code == 200
        text = form.text
        assert 'name="title"' in text and "/60" in text
        assert f'name="prop-{tree.brand.id}"' in text  # key prop: a select
        assert f'type="checkbox" name="prop-{tree.material.id}"' in text  # multi: checkboxes
        assert f'name="input-{tree.style_no.id}"' in text  # input prop: text
        assert f'name="sale-{tree.color.id}"' in text and f'name="sale-{tree.size.id}"' in text
        assert 'id="sku-matrix"' in text

    async def test_create_item_with_sku_matrix_and_an_uploaded_png(
        self, seller: Browser, db: Database, tree: CatalogTree, tmp_path: Any
    ) -> None:
        response = await seller.post(
            "/seller/items",
            _item_form(tree),
            files=[("images", ("dress.png", png(), "image/png"))],
        )
        assert response.status_code == 303, response.text
        assert response.headers["location"] == "/seller?msg=saved"
        async with db.read() as session:
            item_id = await session.scalar(select(Item.id))
        assert item_id is not None
        item = await _item(db, item_id)
        assert item.title == "复古碎花连衣裙 Vintage dress"
        assert item.approve_status == "onsale"
        assert [s.properties for s in item.skus] == [sku_key(tree, "红色", "S")]  # M was skipped
        assert item.price == 8800 and item.quantity == 5
        assert item.skus[0].outer_id == "D-001-RS"
        assert len(item.images) == 1 and item.images[0].url.startswith("/media/items/")
        assert item.pic_url == item.images[0].url
        image = await seller.get(item.images[0].url)
        assert image.status_code == 200 and image.content == png()
        # The storefront shows it, sanitized, with its props.
        page = await seller.get(f"/item/{item_id}")
        assert "<em>silk</em>" in page.text and "x()" not in page.text
        assert "棉，丝" in page.text and "A-77" in page.text
        home = await seller.get("/seller")
        assert "复古碎花连衣裙" in home.text

    async def test_refused_item_is_shown_again_and_nothing_is_created(
        self, seller: Browser, db: Database, tree: CatalogTree
    ) -> None:
        form = _item_form(
            tree,
            title="",
            **{"sku-1-price": "12.345", "sku-1-quantity": "2", "outer_id": "KEEP-ME"},
        )
        response = await seller.post("/seller/items", form)
        assert response.status_code == 422
        text = response.text
        assert "a title is required" in text
        assert "at most 2 decimal places" in text  # the second row's price, inline
        assert 'class="has-error"' in text  # that row is marked
        assert 'value="KEEP-ME"' in text and 'value="12.345"' in text and 'value="88.00"' in text
        assert "真丝" in text  # the description as typed
        assert await _count(db, Item) == 0

    async def test_a_quantity_that_is_not_a_number_is_an_inline_problem(
        self, seller: Browser, db: Database, tree: CatalogTree
    ) -> None:
        form = _item_form(tree, **{"sku-0-quantity": "five"})
        response = await seller.post("/seller/items", form)
        assert response.status_code == 422
        assert "enter a whole number" in response.text
        assert await _count(db, Item) == 0

    async def test_a_bad_upload_is_refused_and_nothing_is_created(
        self, seller: Browser, db: Database, tree: CatalogTree
    ) -> None:
        response = await seller.post(
            "/seller/items",
            _item_form(tree),
            files=[
                ("images", ("ok.png", png(), "image/png")),
                ("images", ("bad.png", b"not an image", "image/png")),
            ],
        )
        assert response.status_code == 422
        assert "bad.png: use a JPEG, PNG, WebP or GIF image" in response.text
        # The good upload is kept in the form so it need not be sent again.
        assert 'name="image_key" value="items/' in response.text
        assert await _count(db, Item) == 0

    async def test_edit_prefills_and_keeps_sku_ids(
        self, seller: Browser, db: Database, tree: CatalogTree
    ) -> None:
        item = await add_item(
            db,
            "alice",
            tree.item(
                skus=[tree.sku("红色", "S", "10.00", 1), tree.sku("蓝色", "S", "20.00", 2)],
                image_keys=["items/aa/one.png", "items/bb/two.png"],
            ),
        )
        before = {s.properties: s.id for s in (await _item(db, item.id)).skus}
        page = await seller.get(f"/seller/items/{item.id}/edit")
        assert page.status_code == 200
        text = page.text
        assert f'data-properties="{sku_key(tree, "红色", "S")}"' in text
        assert 'value="20.00"' in text
        assert 'name="image_key" value="/media/items/aa/one.png"' in text
        # when: prices change, one combination is added, the images are swapped
        form = _item_form(
            tree,
            approve_status="instock",
            **{
                f"sale-{tree.color.id}": [
                    str(tree.vid(tree.color, "红色")),
                    str(tree.vid(tree.color, "蓝色")),
                ],
                f"sale-{tree.size.id}": [str(tree.vid(tree.size, "S"))],
                "sku-0-properties": sku_key(tree, "红色", "S"),
                "sku-0-price": "11.00",
                "sku-1-properties": sku_key(tree, "蓝色", "S"),
                "sku-1-price": "21.00",
                "sku-1-quantity": "4",
                "image_key": ["/media/items/bb/two.png", "/media/items/aa/one.png"],
            },
        )
        response = await seller.post(f"/seller/items/{item.id}", form)
        assert response.status_code == 303, response.text
        after = await _item(db, item.id)
        assert {s.properties: s.id for s in after.skus if s.status == "normal"} == before
        assert sorted(s.price for s in after.skus) == [1100, 2100]
        assert [i.url for i in after.images] == [
            "/media/items/bb/two.png",
            "/media/items/aa/one.png",
        ]
        assert after.title == "复古碎花连衣裙 Vintage dress"

    async def test_another_seller_cannot_edit(
        self, seller: Browser, new_browser: NewBrowser, db: Database, tree: CatalogTree
    ) -> None:
        item = await add_item(db, "alice", tree.item(approve_status="onsale"))
        bob = await new_browser()
        await bob.sign_up("bob")
        await bob.open_shop("Bob 的店")
        assert (await bob.get(f"/seller/items/{item.id}/edit")).status_code == 404
        response = await bob.post(f"/seller/items/{item.id}", _item_form(tree, title="hijacked"))
        assert response.status_code == 404
        refused = await bob.post(f"/seller/items/{item.id}", _item_form(tree, title=""))
        assert refused.status_code == 404
        listing = await bob.post(f"/seller/items/{item.id}/listing", {"onsale": "0"})
        assert listing.status_code == 404
        after = await _item(db, item.id)
        assert after.title == "夏季新款碎花连衣裙" and after.approve_status == "onsale"


class TestListing:
    async def test_list_delist_and_filter(
        self, seller: Browser, db: Database, tree: CatalogTree
    ) -> None:
        item = await add_item(db, "alice", tree.item())
        listed = await seller.post(
            f"/seller/items/{item.id}/listing", {"onsale": "1", "next": "/seller?status=instock"}
        )
        assert listed.status_code == 303
        assert listed.headers["location"] == "/seller?status=instock&msg=listed"
        assert (await _item(db, item.id)).approve_status == "onsale"
        onsale = await seller.get("/seller?status=onsale")
        assert "夏季新款碎花连衣裙" in onsale.text and "下架 Delist" in onsale.text
        instock = await seller.get("/seller?status=instock")
        assert "夏季新款碎花连衣裙" not in instock.text
        delisted = await seller.post(f"/seller/items/{item.id}/listing", {"onsale": "0"})
        assert delisted.status_code == 303
        assert (await _item(db, item.id)).approve_status == "instock"

    async def test_listing_without_stock_shows_why(
        self, seller: Browser, db: Database, tree: CatalogTree
    ) -> None:
        item = await add_item(db, "alice", tree.item(quantity=0))
        response = await seller.post(f"/seller/items/{item.id}/listing", {"onsale": "1"})
        assert response.status_code == 422
        assert "an item on sale needs stock" in response.text
        # The list shown in answer links to the list, not to the path that was posted to.
        assert 'href="/seller?status=onsale"' in response.text
        assert "/listing?" not in response.text
        assert (await _item(db, item.id)).approve_status == "instock"

    async def test_delete_item(self, seller: Browser, db: Database, tree: CatalogTree) -> None:
        item = await add_item(db, "alice", tree.item(approve_status="onsale"))
        response = await seller.post(f"/seller/items/{item.id}/delete")
        assert response.status_code == 303
        assert (await _item(db, item.id)).approve_status == "deleted"
        assert "夏季新款碎花连衣裙" not in (await seller.get("/seller")).text
        assert (await seller.get(f"/item/{item.id}")).status_code == 404
