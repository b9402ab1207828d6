"""The catalog's TOP write methods through ``/router/rest`` (Style A: system parameters in
the query string, business parameters in the body, md5, millisecond timestamps): item add,
update, delete, listing, delisting, stock, SKUs and image upload.

Runs on SQLite, and on PostgreSQL too when ``MERCATO_TEST_DATABASE_URL`` is set."""

from __future__ import annotations

import re
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from PIL import Image
from sqlalchemy import text

from mercato.catalog import service as catalog
from mercato.catalog.schemas import ItemDetail
from mercato.events import outbox
from mercato.gateway import signing
from mercato.kit.db import Database
from mercato.kit.errors import NotFound
from mercato.models import App, Item, Shop, User
from tests.factories.accounts import make_user
from tests.factories.catalog import CatalogTree, make_catalog, make_seller, make_shop_category
from tests.factories.gateway import make_app, make_token
from tests.gateway.conftest import error_of, now_ms

TIME = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$")
BOUNDARY = "PYTHON_SDK_BOUNDARY"


@dataclass
class Shops:
    db: Database
    media: Path
    tree: CatalogTree
    app: App
    secret: str
    alice: User
    alice_shop: Shop
    alice_token: str
    bob_token: str  # another seller, same app
    buyer_token: str
    plain: Item  # alice's dress without SKUs, in stock
    with_skus: Item  # alice's dress with two SKUs (red S, blue M), on sale


@pytest.fixture
async def w(app: FastAPI, db: Database) -> Shops:
    async with db.write() as session:
        tree = await make_catalog(session)
        alice, alice_shop = await make_seller(session, "alice")
        bob, _ = await make_seller(session, "bob")
        buyer = await make_user(session, "gw_buyer")
        gw_app, secret = await make_app(session, alice, packages=("items-read", "items-write"))
        plain = await catalog.create_item(session, alice, tree.item(outer_id="P-1"))
        with_skus = await catalog.create_item(
            session,
            alice,
            tree.item(
                approve_status="onsale",
                skus=[tree.sku("红色", "S", "30.00", 4), tree.sku("蓝色", "M", "25.00", 6)],
            ),
        )
        return Shops(
            db=db,
            media=app.state.settings.media_dir,
            tree=tree,
            app=gw_app,
            secret=secret,
            alice=alice,
            alice_shop=alice_shop,
            alice_token=await make_token(session, gw_app, alice),
            bob_token=await make_token(session, gw_app, bob),
            buyer_token=await make_token(session, gw_app, buyer),
            plain=plain,
            with_skus=with_skus,
        )


def _system(w: Shops, method: str, token: str | None) -> dict[str, str]:
    return {
        "method": method,
        "app_key": w.app.app_key,
        "sign_method": "md5",
        "timestamp": now_ms(),
        "v": "2.0",
        "format": "json",
        "partner_id": "tbk-sdk-python-20220112",
        "session": token if token is not None else w.alice_token,
    }


async def call(
    client: httpx.AsyncClient,
    w: Shops,
    method: str,
    business: dict[str, str],
    *,
    token: str | None = None,
) -> httpx.Response:
    """Style A: system parameters in the query, business parameters urlencoded in the body."""
    sys_params = _system(w, method, token)
    sign = signing.sign({**sys_params, **business}, w.secret, "md5")
    return await client.post(
        "/router/rest",
        params={**sys_params, "sign": sign},
        data=business,
        headers={"Content-Type": "application/x-www-form-urlencoded;charset=UTF-8"},
    )


async def call_with_file(
    client: httpx.AsyncClient,
    w: Shops,
    method: str,
    business: dict[str, str],
    image: bytes,
    *,
    token: str | None = None,
) -> httpx.Response:
    """Style A with a file: multipart whose file part is ``Content-Disposition: file;``
    (py-taobao-open); the file is not signed."""
    sys_params = _system(w, method, token)
    sign = signing.sign({**sys_params, **business}, w.secret, "md5")
    parts = [
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{k}"\r\n'
        f"Content-Type: text/plain; charset=UTF-8\r\n\r\n{v}\r\n".encode()
        for k, v in business.items()
    ]
    parts.append(
        f'--{BOUNDARY}\r\nContent-Disposition: file; name="image"; filename="a.png"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n".encode()
        + image
        + b"\r\n"
    )
    parts.append(f"--{BOUNDARY}--\r\n".encode())
    return await client.post(
        "/router/rest",
        params={**sys_params, "sign": sign},
        content=b"".join(parts),
        headers={"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"},
    )


def png(color: str = "red") -> bytes:
    out = BytesIO()
    Image.new("RGB", (8, 8), color).save(out, format="PNG")
    return out.getvalue()


def ok(response: httpx.Response, root: str) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    body = response.json()
    assert list(body) == [root], body
    inner: dict[str, Any] = body[root]
    assert inner.pop("request_id")
    return inner


def stamp(ident: int, field: str, when: str, key: str = "num_iid") -> dict[str, Any]:
    """A write method's minimal answer: the id, its string twin and one time."""
    assert TIME.match(when)
    return {key: ident, f"{key}_str": str(ident), field: when}


def assert_error(response: httpx.Response, code: int, sub_code: str) -> None:
    err = error_of(response)
    assert (err["code"], err.get("sub_code")) == (code, sub_code), err


async def detail(w: Shops, item_id: int) -> ItemDetail:
    async with w.db.read() as session:
        return await catalog.get_own_item_detail(session, w.alice, item_id)


async def stock_events(w: Shops, item_id: int) -> list[dict[str, Any]]:
    async with w.db.read() as session:
        events = await outbox.events_of(session, f"item:{item_id}")
        return [{"topic": e.topic, "seq": e.seq, "user_id": e.user_id, **e.content} for e in events]


def media_files(w: Shops) -> list[Path]:
    return [p for p in w.media.rglob("*") if p.is_file()] if w.media.exists() else []


# ---------------------------------------------------------------- refusals for every method


def _business(w: Shops) -> dict[str, dict[str, str]]:
    """A valid call of each method on alice's items."""
    t, plain, skus = w.tree, str(w.plain.id), str(w.with_skus.id)
    return {
        "taobao.item.add": {
            "num": "1",
            "price": "9.90",
            "title": "t",
            "desc": "d",
            "location.state": "浙江",
            "location.city": "杭州",
            "cid": str(t.dresses.id),
            "props": f"{t.brand.id}:{t.vid(t.brand, 'Acme')}",
        },
        "taobao.item.update": {"num_iid": plain, "title": "changed"},
        "taobao.item.delete": {"num_iid": plain},
        "taobao.item.update.listing": {"num_iid": plain, "num": "3"},
        "taobao.item.update.delisting": {"num_iid": skus},
        "taobao.item.quantity.update": {"num_iid": plain, "quantity": "99"},
        "taobao.item.sku.add": {
            "num_iid": skus,
            "properties": t.combo("红色", "L"),
            "quantity": "1",
            "price": "1.00",
        },
        "taobao.item.sku.update": {
            "num_iid": skus,
            "properties": t.combo("红色", "S"),
            "price": "1.00",
        },
        "taobao.item.img.upload": {"num_iid": plain, "id": "1"},
    }


METHODS = [
    "taobao.item.add",
    "taobao.item.update",
    "taobao.item.delete",
    "taobao.item.update.listing",
    "taobao.item.update.delisting",
    "taobao.item.quantity.update",
    "taobao.item.sku.add",
    "taobao.item.sku.update",
    "taobao.item.img.upload",
]


async def snapshot(w: Shops) -> list[Any]:
    """Everything the methods could change about alice's items."""
    out: list[Any] = []
    for item_id in (w.plain.id, w.with_skus.id):
        d = await detail(w, item_id)
        out.append(
            (
                d.item.title,
                d.item.quantity,
                d.item.price,
                d.item.approve_status,
                d.item.pic_url,
                [(s.id, s.properties, s.price, s.quantity) for s in d.skus],
                [(i.id, i.url, i.position) for i in d.images],
                await stock_events(w, item_id),
            )
        )
    return out


@pytest.mark.parametrize("method", METHODS)
async def test_a_buyer_session_is_refused(client: httpx.AsyncClient, w: Shops, method: str) -> None:
    before = await snapshot(w)
    response = await call(client, w, method, _business(w)[method], token=w.buyer_token)
    assert_error(response, 42, "isv.user-not-seller")
    assert await snapshot(w) == before


@pytest.mark.parametrize("method", METHODS[1:])  # item.add has no item to trespass on
async def test_another_sellers_items_do_not_exist(
    client: httpx.AsyncClient, w: Shops, method: str
) -> None:
    before = await snapshot(w)
    response = await call(client, w, method, _business(w)[method], token=w.bob_token)
    assert_error(response, 15, "isv.not-found")
    assert await snapshot(w) == before


async def test_an_app_without_items_write_is_refused(client: httpx.AsyncClient, w: Shops) -> None:
    async with w.db.write() as session:
        reader, secret = await make_app(session, w.alice, packages=("items-read",))
        token = await make_token(session, reader, w.alice)
    w.app, w.secret = reader, secret
    response = await call(
        client, w, "taobao.item.delete", {"num_iid": str(w.plain.id)}, token=token
    )
    assert_error(response, 11, "isv.permission-api-package-not-allowed")
    assert (await detail(w, w.plain.id)).item.approve_status == "instock"


# ---------------------------------------------------------------- taobao.item.add


class TestItemAdd:
    async def test_publishes_an_item_with_skus(self, client: httpx.AsyncClient, w: Shops) -> None:
        t = w.tree
        cat = await self._shop_category(w)
        business = {
            "num": "5",
            "price": "19.90",
            "type": "fixed",
            "stuff_status": "new",
            "title": "接口发布的连衣裙",
            "desc": "<p>好看</p><script>alert(1)</script>",
            "location.state": "浙江",
            "location.city": "杭州",
            "cid": str(t.dresses.id),
            # TOP clients list the sale properties in props too
            "props": f"{t.brand.id}:{t.vid(t.brand, 'Zeta')};{t.color.id}:{t.vid(t.color, '红色')}",
            "sku_properties": f"{t.combo('红色', 'S')},{t.combo('蓝色', 'L')}",
            "sku_quantities": "2,3",
            "sku_prices": "12.50,10.00",
            "sku_outer_ids": "A-S,B-L",
            "outer_id": "X-1",
            "seller_cids": f",{cat},",
        }
        inner = ok(await call(client, w, "taobao.item.add", business), "item_add_response")
        assert set(inner) == {"item"}
        assert set(inner["item"]) == {"num_iid", "num_iid_str", "created"}
        assert isinstance(inner["item"]["num_iid"], int)
        assert inner["item"]["num_iid_str"] == str(inner["item"]["num_iid"])
        assert TIME.match(inner["item"]["created"])
        d = await detail(w, inner["item"]["num_iid"])
        item = d.item
        assert (item.title, item.price, item.quantity) == ("接口发布的连衣裙", 1000, 5)
        assert item.approve_status == "onsale"  # TOP's default for item.add
        assert (item.location_state, item.location_city, item.outer_id) == ("浙江", "杭州", "X-1")
        assert item.description == "<p>好看</p>"
        assert d.prop_vids == {t.brand.id: [t.vid(t.brand, "Zeta")]}
        assert d.seller_cat_ids == [cat]
        assert [(s.properties, s.price, s.quantity, s.outer_id) for s in d.skus] == [
            (t.combo("红色", "S"), 1250, 2, "A-S"),
            (t.combo("蓝色", "L"), 1000, 3, "B-L"),
        ]

    async def _shop_category(self, w: Shops) -> int:
        async with w.db.write() as session:
            return (await make_shop_category(session, w.alice_shop, "新品")).id

    async def test_with_an_image_file(self, client: httpx.AsyncClient, w: Shops) -> None:
        business = _business(w)["taobao.item.add"] | {"approve_status": "instock"}
        response = await call_with_file(client, w, "taobao.item.add", business, png())
        num_iid = ok(response, "item_add_response")["item"]["num_iid"]
        d = await detail(w, num_iid)
        assert d.item.approve_status == "instock"
        assert d.item.pic_url and d.item.pic_url.startswith("/media/items/")
        assert [i.url for i in d.images] == [d.item.pic_url]
        assert len(media_files(w)) == 1

    async def test_a_missing_title_is_40(self, client: httpx.AsyncClient, w: Shops) -> None:
        business = _business(w)["taobao.item.add"]
        del business["title"]
        response = await call(client, w, "taobao.item.add", business)
        assert_error(response, 40, "isv.missing-parameter:title")

    async def test_missing_location_is_40(self, client: httpx.AsyncClient, w: Shops) -> None:
        business = _business(w)["taobao.item.add"] | {"location.city": ""}
        response = await call(client, w, "taobao.item.add", business)
        assert_error(response, 40, "isv.missing-parameter:location.city")

    @pytest.mark.parametrize(
        ("change", "parameter"),
        [
            ({"cid": "parent"}, "cid"),  # not a leaf category
            ({"price": "1.234"}, "price"),
            ({"num": "-1"}, "num"),
            ({"type": "auction"}, "type"),
            ({"props": "brand"}, "props"),
            (
                {"sku_properties": "1:2", "sku_quantities": "1,2", "sku_prices": "1"},
                "sku_quantities",
            ),
            ({"sku_properties": "bad", "sku_quantities": "1", "sku_prices": "1"}, "sku_properties"),
            ({"seller_cids": "999999"}, "seller_cids"),
        ],
    )
    async def test_invalid_values_are_41(
        self, client: httpx.AsyncClient, w: Shops, change: dict[str, str], parameter: str
    ) -> None:
        if change.get("cid") == "parent":
            change = {"cid": str(w.tree.clothing.id)}
        business = _business(w)["taobao.item.add"] | change
        response = await call(client, w, "taobao.item.add", business)
        assert_error(response, 41, f"isv.invalid-parameter:{parameter}")
        async with w.db.read() as session:
            count = await session.scalar(text("SELECT count(*) FROM items"))
        assert count == 2  # nothing was created

    async def test_a_bad_image_is_41(self, client: httpx.AsyncClient, w: Shops) -> None:
        business = _business(w)["taobao.item.add"]
        response = await call_with_file(client, w, "taobao.item.add", business, b"not an image")
        assert_error(response, 41, "isv.invalid-parameter:image")
        assert media_files(w) == []

    async def test_another_shops_category_is_41(self, client: httpx.AsyncClient, w: Shops) -> None:
        cat = await self._shop_category(w)
        business = _business(w)["taobao.item.add"] | {"seller_cids": str(cat)}
        response = await call(client, w, "taobao.item.add", business, token=w.bob_token)
        assert_error(response, 41, "isv.invalid-parameter:seller_cids")


# ---------------------------------------------------------------- taobao.item.update


class TestItemUpdate:
    async def test_changes_only_what_is_given(self, client: httpx.AsyncClient, w: Shops) -> None:
        before = await detail(w, w.with_skus.id)
        business = {"num_iid": str(w.with_skus.id), "title": "改过的标题", "desc": "<b>新</b>"}
        inner = ok(await call(client, w, "taobao.item.update", business), "item_update_response")
        assert inner == {"item": stamp(w.with_skus.id, "modified", inner["item"]["modified"])}
        assert TIME.match(inner["item"]["modified"])
        after = await detail(w, w.with_skus.id)
        assert (after.item.title, after.item.description) == ("改过的标题", "<b>新</b>")
        assert after.prop_vids == before.prop_vids
        assert after.item.approve_status == "onsale"
        assert [(s.id, s.price, s.quantity) for s in after.skus] == [
            (s.id, s.price, s.quantity) for s in before.skus
        ]

    async def test_replaces_skus_and_the_major_image(
        self, client: httpx.AsyncClient, w: Shops
    ) -> None:
        t = w.tree
        business = {
            "num_iid": str(w.plain.id),
            "sku_properties": t.combo("蓝色", "S"),
            "sku_quantities": "7",
            "sku_prices": "8.80",
        }
        response = await call_with_file(client, w, "taobao.item.update", business, png("blue"))
        ok(response, "item_update_response")
        d = await detail(w, w.plain.id)
        assert [(s.properties, s.price, s.quantity) for s in d.skus] == [
            (t.combo("蓝色", "S"), 880, 7)
        ]
        assert (d.item.price, d.item.quantity) == (880, 7)
        assert d.item.pic_url and d.item.pic_url.startswith("/media/items/")

    async def test_a_missing_num_iid_is_40(self, client: httpx.AsyncClient, w: Shops) -> None:
        response = await call(client, w, "taobao.item.update", {"title": "x"})
        assert_error(response, 40, "isv.missing-parameter:num_iid")

    async def test_sku_lists_without_properties_are_40(
        self, client: httpx.AsyncClient, w: Shops
    ) -> None:
        business = {"num_iid": str(w.plain.id), "sku_prices": "1.00"}
        response = await call(client, w, "taobao.item.update", business)
        assert_error(response, 40, "isv.missing-parameter:sku_properties")

    async def test_an_invalid_value_is_41(self, client: httpx.AsyncClient, w: Shops) -> None:
        business = {"num_iid": str(w.plain.id), "title": "x" * 61}
        response = await call(client, w, "taobao.item.update", business)
        assert_error(response, 41, "isv.invalid-parameter:title")
        assert (await detail(w, w.plain.id)).item.title == w.plain.title


# ---------------------------------------------------------------- delete, listing, delisting


class TestItemDelete:
    async def test_deletes(self, client: httpx.AsyncClient, w: Shops) -> None:
        response = await call(client, w, "taobao.item.delete", {"num_iid": str(w.plain.id)})
        inner = ok(response, "item_delete_response")
        assert inner == {"item": stamp(w.plain.id, "created", inner["item"]["created"])}
        assert TIME.match(inner["item"]["created"])
        with pytest.raises(NotFound):
            await detail(w, w.plain.id)

    async def test_a_missing_num_iid_is_40(self, client: httpx.AsyncClient, w: Shops) -> None:
        assert_error(
            await call(client, w, "taobao.item.delete", {}), 40, "isv.missing-parameter:num_iid"
        )

    async def test_a_non_numeric_num_iid_is_41(self, client: httpx.AsyncClient, w: Shops) -> None:
        response = await call(client, w, "taobao.item.delete", {"num_iid": "abc"})
        assert_error(response, 41, "isv.invalid-parameter:num_iid")


class TestListing:
    async def test_lists_with_the_stock_given(self, client: httpx.AsyncClient, w: Shops) -> None:
        business = {"num_iid": str(w.plain.id), "num": "3"}
        inner = ok(
            await call(client, w, "taobao.item.update.listing", business),
            "item_update_listing_response",
        )
        assert inner == {"item": stamp(w.plain.id, "modified", inner["item"]["modified"])}
        d = await detail(w, w.plain.id)
        assert (d.item.approve_status, d.item.quantity) == ("onsale", 3)
        assert d.item.list_time is not None
        [event] = await stock_events(w, w.plain.id)
        assert event["topic"] == "taobao_item_ItemStockChanged"
        assert (event["num"], event["increment"]) == (3, 3 - w.plain.quantity)

    async def test_an_item_with_skus_keeps_their_stock(
        self, client: httpx.AsyncClient, w: Shops
    ) -> None:
        business = {"num_iid": str(w.with_skus.id), "num": "99"}
        ok(
            await call(client, w, "taobao.item.update.listing", business),
            "item_update_listing_response",
        )
        assert (await detail(w, w.with_skus.id)).item.quantity == 10
        assert await stock_events(w, w.with_skus.id) == []

    async def test_a_missing_num_is_40(self, client: httpx.AsyncClient, w: Shops) -> None:
        business = {"num_iid": str(w.plain.id)}
        response = await call(client, w, "taobao.item.update.listing", business)
        assert_error(response, 40, "isv.missing-parameter:num")

    async def test_a_zero_num_is_41(self, client: httpx.AsyncClient, w: Shops) -> None:
        business = {"num_iid": str(w.plain.id), "num": "0"}
        response = await call(client, w, "taobao.item.update.listing", business)
        assert_error(response, 41, "isv.invalid-parameter:num")
        assert (await detail(w, w.plain.id)).item.approve_status == "instock"


class TestDelisting:
    async def test_delists(self, client: httpx.AsyncClient, w: Shops) -> None:
        business = {"num_iid": str(w.with_skus.id)}
        inner = ok(
            await call(client, w, "taobao.item.update.delisting", business),
            "item_update_delisting_response",
        )
        assert inner == {"item": stamp(w.with_skus.id, "modified", inner["item"]["modified"])}
        d = await detail(w, w.with_skus.id)
        assert d.item.approve_status == "instock"
        assert d.item.delist_time is not None

    async def test_a_missing_num_iid_is_40(self, client: httpx.AsyncClient, w: Shops) -> None:
        response = await call(client, w, "taobao.item.update.delisting", {})
        assert_error(response, 40, "isv.missing-parameter:num_iid")

    async def test_a_bad_num_iid_is_41(self, client: httpx.AsyncClient, w: Shops) -> None:
        response = await call(client, w, "taobao.item.update.delisting", {"num_iid": "1.5"})
        assert_error(response, 41, "isv.invalid-parameter:num_iid")


# ---------------------------------------------------------------- taobao.item.quantity.update


class TestQuantityUpdate:
    async def test_sets_an_items_stock(self, client: httpx.AsyncClient, w: Shops) -> None:
        business = {"num_iid": str(w.plain.id), "quantity": "7"}
        inner = ok(
            await call(client, w, "taobao.item.quantity.update", business),
            "item_quantity_update_response",
        )
        assert inner == {
            "item": {
                **stamp(w.plain.id, "modified", inner["item"]["modified"]),
                "num": 7,
            }
        }
        assert (await detail(w, w.plain.id)).item.quantity == 7
        [event] = await stock_events(w, w.plain.id)
        assert event == {
            "topic": "taobao_item_ItemStockChanged",
            "seq": 1,
            "user_id": w.alice.id,
            "num_iid": w.plain.id,
            "nick": "alice",
            "title": w.plain.title,
            "price": "199.00",
            "num": 7,
            "status": "instock",
            "sku_id": None,
            "sku_num": None,
            "changed_fields": "num",
            "increment": 7 - w.plain.quantity,
        }

    async def test_changes_a_skus_stock_by_a_delta(
        self, client: httpx.AsyncClient, w: Shops
    ) -> None:
        red_s = (await detail(w, w.with_skus.id)).skus[0]
        business = {
            "num_iid": str(w.with_skus.id),
            "sku_id": str(red_s.id),
            "quantity": "-3",
            "type": "2",
        }
        inner = ok(
            await call(client, w, "taobao.item.quantity.update", business),
            "item_quantity_update_response",
        )
        item = inner["item"]
        assert (item["num_iid"], item["num"]) == (w.with_skus.id, 7)
        assert item["skus"] == {
            "sku": [
                {
                    "sku_id": red_s.id,
                    "sku_id_str": str(red_s.id),
                    "num_iid": w.with_skus.id,
                    "num_iid_str": str(w.with_skus.id),
                    "quantity": 1,
                    "modified": item["skus"]["sku"][0]["modified"],
                }
            ]
        }
        [event] = await stock_events(w, w.with_skus.id)
        assert (event["sku_id"], event["sku_num"], event["num"], event["increment"]) == (
            red_s.id,
            1,
            7,
            -3,
        )

    async def test_a_sku_by_outer_id(self, client: httpx.AsyncClient, w: Shops) -> None:
        async with w.db.write() as session:
            d = await catalog.get_own_item_detail(session, w.alice, w.with_skus.id)
            await catalog.update_sku(
                session, w.alice, w.with_skus.id, d.skus[1].properties, outer_id="BM"
            )
        business = {"num_iid": str(w.with_skus.id), "outer_id": "BM", "quantity": "0"}
        response = await call(client, w, "taobao.item.quantity.update", business)
        assert ok(response, "item_quantity_update_response")["item"]["num"] == 4

    async def test_a_missing_quantity_is_40(self, client: httpx.AsyncClient, w: Shops) -> None:
        business = {"num_iid": str(w.plain.id)}
        response = await call(client, w, "taobao.item.quantity.update", business)
        assert_error(response, 40, "isv.missing-parameter:quantity")

    @pytest.mark.parametrize(
        ("change", "parameter"),
        [
            ({"type": "3"}, "type"),
            ({"quantity": "-11", "type": "2"}, "quantity"),  # below zero
            ({"quantity": "-1"}, "quantity"),
        ],
    )
    async def test_invalid_values_are_41(
        self, client: httpx.AsyncClient, w: Shops, change: dict[str, str], parameter: str
    ) -> None:
        business = {"num_iid": str(w.plain.id), "quantity": "1"} | change
        response = await call(client, w, "taobao.item.quantity.update", business)
        assert_error(response, 41, f"isv.invalid-parameter:{parameter}")
        assert (await detail(w, w.plain.id)).item.quantity == w.plain.quantity
        assert await stock_events(w, w.plain.id) == []

    async def test_an_item_with_skus_needs_a_sku(self, client: httpx.AsyncClient, w: Shops) -> None:
        business = {"num_iid": str(w.with_skus.id), "quantity": "1"}
        response = await call(client, w, "taobao.item.quantity.update", business)
        assert_error(response, 41, "isv.invalid-parameter:sku_id")

    async def test_an_unknown_sku_is_15(self, client: httpx.AsyncClient, w: Shops) -> None:
        business = {"num_iid": str(w.with_skus.id), "sku_id": "999999", "quantity": "1"}
        response = await call(client, w, "taobao.item.quantity.update", business)
        assert_error(response, 15, "isv.sku-not-found")


# ---------------------------------------------------------------- SKUs


class TestSkuAdd:
    async def test_adds_a_sku(self, client: httpx.AsyncClient, w: Shops) -> None:
        t = w.tree
        business = {
            "num_iid": str(w.with_skus.id),
            "properties": t.combo("红色", "L", descending=True),
            "quantity": "2",
            "price": "20.00",
            "outer_id": "RL",
        }
        inner = ok(await call(client, w, "taobao.item.sku.add", business), "item_sku_add_response")
        sku = inner["sku"]
        assert set(sku) == {"sku_id", "sku_id_str", "created"} and TIME.match(sku["created"])
        d = await detail(w, w.with_skus.id)
        added = d.sku_by_properties()[t.combo("红色", "L")]
        assert (added.id, added.price, added.quantity, added.outer_id) == (
            sku["sku_id"],
            2000,
            2,
            "RL",
        )
        assert (d.item.price, d.item.quantity) == (2000, 12)

    async def test_a_missing_price_is_40(self, client: httpx.AsyncClient, w: Shops) -> None:
        business = _business(w)["taobao.item.sku.add"]
        del business["price"]
        response = await call(client, w, "taobao.item.sku.add", business)
        assert_error(response, 40, "isv.missing-parameter:price")

    @pytest.mark.parametrize(
        ("change", "parameter"),
        [
            ({"properties": "1:2"}, "properties"),  # not this category's sale props
            ({"price": "abc"}, "price"),
            ({"quantity": "-5"}, "quantity"),
        ],
    )
    async def test_invalid_values_are_41(
        self, client: httpx.AsyncClient, w: Shops, change: dict[str, str], parameter: str
    ) -> None:
        business = _business(w)["taobao.item.sku.add"] | change
        response = await call(client, w, "taobao.item.sku.add", business)
        assert_error(response, 41, f"isv.invalid-parameter:{parameter}")
        assert len((await detail(w, w.with_skus.id)).skus) == 2

    async def test_an_existing_combination_is_15(self, client: httpx.AsyncClient, w: Shops) -> None:
        business = _business(w)["taobao.item.sku.add"] | {"properties": w.tree.combo("红色", "S")}
        response = await call(client, w, "taobao.item.sku.add", business)
        assert_error(response, 15, "isv.sku-exists")


class TestSkuUpdate:
    async def test_updates_a_sku(self, client: httpx.AsyncClient, w: Shops) -> None:
        t = w.tree
        red_s = (await detail(w, w.with_skus.id)).sku_by_properties()[t.combo("红色", "S")]
        business = {
            "num_iid": str(w.with_skus.id),
            "properties": t.combo("红色", "S", descending=True),
            "price": "5.00",
        }
        inner = ok(
            await call(client, w, "taobao.item.sku.update", business), "item_sku_update_response"
        )
        assert inner == {"sku": stamp(red_s.id, "modified", inner["sku"]["modified"], "sku_id")}
        d = await detail(w, w.with_skus.id)
        after = d.sku_by_properties()[t.combo("红色", "S")]
        assert (after.price, after.quantity) == (500, 4)
        assert d.item.price == 500  # the cheapest SKU

    async def test_a_missing_properties_is_40(self, client: httpx.AsyncClient, w: Shops) -> None:
        business = {"num_iid": str(w.with_skus.id), "price": "1.00"}
        response = await call(client, w, "taobao.item.sku.update", business)
        assert_error(response, 40, "isv.missing-parameter:properties")

    async def test_an_invalid_price_is_41(self, client: httpx.AsyncClient, w: Shops) -> None:
        business = _business(w)["taobao.item.sku.update"] | {"price": "-1"}
        response = await call(client, w, "taobao.item.sku.update", business)
        assert_error(response, 41, "isv.invalid-parameter:price")
        assert (await detail(w, w.with_skus.id)).item.price == 2500

    async def test_an_unknown_combination_is_15(self, client: httpx.AsyncClient, w: Shops) -> None:
        business = _business(w)["taobao.item.sku.update"] | {
            "properties": w.tree.combo("蓝色", "L")
        }
        response = await call(client, w, "taobao.item.sku.update", business)
        assert_error(response, 15, "isv.sku-not-found")


# ---------------------------------------------------------------- taobao.item.img.upload


class TestImgUpload:
    async def test_uploads_with_a_file_disposition_part(
        self, client: httpx.AsyncClient, w: Shops
    ) -> None:
        business = {"num_iid": str(w.plain.id)}
        response = await call_with_file(client, w, "taobao.item.img.upload", business, png())
        inner = ok(response, "item_img_upload_response")
        img = inner["item_img"]
        assert set(img) == {"id", "url", "position", "created"}
        assert img["position"] == 0 and img["url"].startswith("/media/items/")
        assert TIME.match(img["created"])
        d = await detail(w, w.plain.id)
        assert [(i.id, i.url, i.position) for i in d.images] == [(img["id"], img["url"], 0)]
        assert d.item.pic_url == img["url"]
        assert len(media_files(w)) == 1

    async def test_a_second_major_image_goes_first(
        self, client: httpx.AsyncClient, w: Shops
    ) -> None:
        first = ok(
            await call_with_file(
                client, w, "taobao.item.img.upload", {"num_iid": str(w.plain.id)}, png("red")
            ),
            "item_img_upload_response",
        )["item_img"]
        business = {"num_iid": str(w.plain.id), "is_major": "True"}  # Style A sends True
        second = ok(
            await call_with_file(client, w, "taobao.item.img.upload", business, png("green")),
            "item_img_upload_response",
        )["item_img"]
        assert second["position"] == 0
        d = await detail(w, w.plain.id)
        assert [i.id for i in d.images] == [second["id"], first["id"]]
        assert d.item.pic_url == second["url"]
        # moving an existing image by id, without a file
        moved = ok(
            await call(
                client,
                w,
                "taobao.item.img.upload",
                {"num_iid": str(w.plain.id), "id": str(first["id"]), "position": "0"},
            ),
            "item_img_upload_response",
        )["item_img"]
        assert (moved["id"], moved["position"]) == (first["id"], 0)

    async def test_no_image_is_40(self, client: httpx.AsyncClient, w: Shops) -> None:
        response = await call(client, w, "taobao.item.img.upload", {"num_iid": str(w.plain.id)})
        assert_error(response, 40, "isv.missing-parameter:image")

    async def test_a_bad_image_is_41(self, client: httpx.AsyncClient, w: Shops) -> None:
        business = {"num_iid": str(w.plain.id)}
        response = await call_with_file(
            client, w, "taobao.item.img.upload", business, b"GIF89a not really"
        )
        assert_error(response, 41, "isv.invalid-parameter:image")
        assert (await detail(w, w.plain.id)).images == []
        assert media_files(w) == []

    async def test_an_unknown_image_id_is_15(self, client: httpx.AsyncClient, w: Shops) -> None:
        business = {"num_iid": str(w.plain.id), "id": "999999"}
        response = await call(client, w, "taobao.item.img.upload", business)
        assert_error(response, 15, "isv.item-img-not-found")

    async def test_another_sellers_item_stores_nothing(
        self, client: httpx.AsyncClient, w: Shops
    ) -> None:
        business = {"num_iid": str(w.plain.id)}
        response = await call_with_file(
            client, w, "taobao.item.img.upload", business, png(), token=w.bob_token
        )
        assert_error(response, 15, "isv.not-found")
        assert media_files(w) == []
