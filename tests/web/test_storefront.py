"""Storefront pages: home, search, item and shop, on data made through the services."""

from __future__ import annotations

import json
import re

from mercato.kit.db import Database
from tests.factories.accounts import PASSWORD
from tests.factories.catalog import CatalogTree
from tests.web.conftest import Browser, NewBrowser, add_item, make_shop, shop_of, sku_key

DRESS = "夏季新款碎花连衣裙"


async def _dress_with_skus(db: Database, tree: CatalogTree, **overrides: object) -> int:
    fields: dict[str, object] = {
        "approve_status": "onsale",
        "description": "<p>纯棉 <b>soft</b></p><script>alert(1)</script>",
        "skus": [
            tree.sku("红色", "S", price="99.00", quantity=3),
            tree.sku("红色", "M", price="109.00", quantity=0),
            tree.sku("蓝色", "S", price="119.50", quantity=7),
        ],
    }
    fields.update(overrides)
    item = await add_item(db, "alice", tree.item(**fields))
    return item.id


class TestHome:
    async def test_shows_categories_and_items_on_sale(
        self, anon: Browser, seller: Browser, db: Database, tree: CatalogTree
    ) -> None:
        # given
        await add_item(db, "alice", tree.item(approve_status="onsale"))
        await add_item(db, "alice", tree.item(title="仓库里的裙子 hidden"))
        # when
        response = await anon.get("/")
        # then
        assert response.status_code == 200
        assert "女装" in response.text and "连衣裙" in response.text and "数码" in response.text
        assert f"/search?cat={tree.dresses.id}" in response.text
        assert DRESS in response.text
        assert "仓库里的裙子" not in response.text

    async def test_empty_marketplace_renders(self, anon: Browser) -> None:
        response = await anon.get("/")
        assert response.status_code == 200
        assert "Nothing on sale yet" in response.text

    async def test_signed_in_user_sees_their_nick(self, seller: Browser) -> None:
        response = await seller.get("/")
        assert response.status_code == 200
        assert "alice" in response.text and "卖家中心" in response.text

    async def test_sign_out_and_in_again(self, seller: Browser) -> None:
        # The user read for the sign-in is used after its read unit has ended.
        assert (await seller.post("/logout")).status_code == 303
        assert "alice" not in (await seller.get("/")).text
        response = await seller.post("/login", {"nick": "alice", "password": PASSWORD})
        assert response.status_code == 303
        assert "卖家中心" in (await seller.get("/")).text


class TestSearch:
    async def test_chinese_query_finds_the_item(
        self, anon: Browser, seller: Browser, db: Database, tree: CatalogTree
    ) -> None:
        await add_item(db, "alice", tree.item(approve_status="onsale"))
        await add_item(db, "alice", tree.item(title="男士衬衫", approve_status="onsale"))
        for q in ("碎花连衣裙", "碎花", "连衣 夏季"):
            response = await anon.get("/search", params={"q": q})
            assert response.status_code == 200
            assert DRESS in response.text, q
            assert "男士衬衫" not in response.text
            assert "共 <strong>1</strong> 件宝贝" in response.text

    async def test_filters_by_category_subtree_price_and_sorts(
        self, anon: Browser, seller: Browser, db: Database, tree: CatalogTree
    ) -> None:
        await add_item(
            db, "alice", tree.item(title="便宜连衣裙", price="10.00", approve_status="onsale")
        )
        await add_item(
            db, "alice", tree.item(title="昂贵连衣裙", price="999.00", approve_status="onsale")
        )
        # The whole clothing subtree, the cheap one first when sorted by price.
        response = await anon.get("/search", params={"cat": tree.clothing.id, "sort": "price_asc"})
        assert response.status_code == 200
        assert response.text.index("便宜连衣裙") < response.text.index("昂贵连衣裙")
        assert "价格 Price ↑" in response.text
        # The chooser offers the subcategories and shows where we are.
        assert f"cat={tree.dresses.id}" in response.text
        # Price range in yuan.
        response = await anon.get("/search", params={"min": "50", "max": "1000"})
        assert "昂贵连衣裙" in response.text and "便宜连衣裙" not in response.text
        # Another subtree has none of them.
        response = await anon.get("/search", params={"cat": tree.digital.id})
        assert "没有找到相关宝贝" in response.text

    async def test_bad_parameters_give_a_message_not_an_error(
        self, anon: Browser, seller: Browser, db: Database, tree: CatalogTree
    ) -> None:
        await add_item(db, "alice", tree.item(approve_status="onsale"))
        response = await anon.get(
            "/search",
            params={
                "q": "连衣裙",
                "min": "abc",
                "max": "1.234",
                "page": "abc",
                "cat": "x",
                "sort": "bogus",
                "shop": "-3",
            },
        )
        assert response.status_code == 200
        text = response.text
        assert "min price" in text and "is not an amount" in text
        assert "max price" in text and "at most 2 decimal places" in text
        assert "unknown sort" in text
        # The ignored filters do not hide the results.
        assert DRESS in text

    async def test_out_of_range_page_and_no_results(self, anon: Browser, tree: CatalogTree) -> None:
        response = await anon.get("/search", params={"q": "不存在的东西", "page": "99999999"})
        assert response.status_code == 200
        assert "没有找到相关宝贝" in response.text

    async def test_pagination_links_keep_the_filters(
        self, anon: Browser, seller: Browser, db: Database, tree: CatalogTree
    ) -> None:
        for n in range(21):
            await add_item(db, "alice", tree.item(title=f"连衣裙 {n:02d}", approve_status="onsale"))
        response = await anon.get("/search", params={"q": "连衣裙", "sort": "newest"})
        assert "共 <strong>21</strong>" in response.text
        assert 'href="/search?q=%E8%BF%9E%E8%A1%A3%E8%A3%99&amp;sort=newest&amp;page=2"' in (
            response.text
        )
        second = await anon.get("/search", params={"q": "连衣裙", "sort": "newest", "page": "2"})
        assert second.text.count('class="card"') == 1


class TestItemPage:
    async def test_shows_gallery_props_description_and_sku_data(
        self, anon: Browser, seller: Browser, db: Database, tree: CatalogTree
    ) -> None:
        item_id = await _dress_with_skus(
            db, tree, image_keys=["items/aa/one.png", "items/bb/two.png"]
        )
        response = await anon.get(f"/item/{item_id}")
        assert response.status_code == 200
        text = response.text
        assert DRESS in text
        assert 'id="major-image" src="/media/items/aa/one.png"' in text
        assert 'data-src="/media/items/bb/two.png"' in text
        assert "品牌" in text and "Acme" in text
        assert "<b>soft</b>" in text and "alert(1)" not in text
        assert "Alice 小铺" in text
        assert 'action="/cart/add"' in text and 'name="sku_id" id="buy-sku" value=""' in text
        assert "99.00 – 119.50" in text
        # The SKU selector's data: every SKU by its properties.
        raw = re.search(r'<script type="application/json" id="sku-data">(.*?)</script>', text, re.S)
        assert raw is not None
        skus = json.loads(raw[1])
        red_s = sku_key(tree, "红色", "S")
        assert skus[red_s]["price"] == "99.00" and skus[red_s]["quantity"] == 3
        assert {s["price"] for s in skus.values()} == {"99.00", "109.00", "119.50"}
        assert all(isinstance(s["sku_id"], int) for s in skus.values())
        # One chip per sale value that the SKUs use.
        assert text.count('class="chip" data-vid=') == 4  # 红色 蓝色 S M

    async def test_item_in_stock_is_not_found_for_others(
        self,
        anon: Browser,
        seller: Browser,
        new_browser: NewBrowser,
        db: Database,
        tree: CatalogTree,
    ) -> None:
        item = await add_item(db, "alice", tree.item())  # instock by default
        assert (await anon.get(f"/item/{item.id}")).status_code == 404
        other = await new_browser()
        await other.sign_up("bob")
        assert (await other.get(f"/item/{item.id}")).status_code == 404
        own = await seller.get(f"/item/{item.id}")
        assert own.status_code == 200
        assert "only you can see it" in own.text

    async def test_unknown_item_is_not_found(self, anon: Browser) -> None:
        response = await anon.get("/item/424242")
        assert response.status_code == 404
        assert "Not found" in response.text


class TestShopPage:
    async def test_shows_shop_categories_and_items(
        self, anon: Browser, seller: Browser, db: Database, tree: CatalogTree
    ) -> None:
        await seller.post(
            "/seller/shop",
            {"title": "Alice 小铺", "bulletin": "全场包邮 free shipping", "description": "手工"},
        )
        await seller.post("/seller/shop/categories", {"name": "新品 New"})
        await add_item(db, "alice", tree.item(approve_status="onsale"))
        await make_shop(db, "bob", "Bob 的店")
        shop = await shop_of(db, "alice")
        response = await anon.get(f"/shop/{shop.id}")
        assert response.status_code == 200
        text = response.text
        assert "Alice 小铺" in text and "全场包邮" in text and "手工" in text
        assert "新品 New" in text
        assert DRESS in text
        assert "共 <strong>1</strong>" in text

    async def test_unknown_shop_is_not_found(self, anon: Browser) -> None:
        assert (await anon.get("/shop/999")).status_code == 404
        assert (await anon.get("/shop/abc")).status_code == 404
        assert (await anon.get("/item/abc")).status_code == 404
