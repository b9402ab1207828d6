"""The catalog's read methods (categories, props, the seller's items and SKUs) through
/router/rest (Style A: system parameters in the query string, business parameters in the form
body, md5, ms timestamps), plus the service functions they added. Runs on SQLite, and on
PostgreSQL too when MERCATO_TEST_DATABASE_URL is set."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from mercato.catalog import service as catalog
from mercato.catalog.gateway import FIELD_PARTS
from mercato.catalog.repository import SellerItemFilter
from mercato.developer.packages import ALL_PACKAGES
from mercato.gateway.envelope import top_datetime
from mercato.kit.clock import utcnow
from mercato.kit.db import Database
from mercato.kit.errors import ValidationFailed
from mercato.kit.pagination import PageRequest
from mercato.models import Item, Shop, User
from tests.factories.accounts import make_user
from tests.factories.catalog import CatalogTree, make_catalog, make_seller, make_shop_category
from tests.factories.gateway import make_app, make_token
from tests.gateway.conftest import World, error_of, style_a, system


@dataclass
class Shelf:
    w: World  # its app holds every package; seller_token is alice's, buyer_token carol's
    tree: CatalogTree
    alice: User
    alice_shop: Shop
    bob: User
    bob_token: str
    dress: Item  # alice's, on sale, with two SKUs, images, props, a shop category
    tee: Item  # alice's, on sale, no SKUs
    spare: Item  # alice's, in stock, never listed, sold out
    bobs: Item  # bob's, on sale
    seller_cat_id: int


@pytest.fixture
async def shelf(db: Database) -> Shelf:
    async with db.write() as session:
        tree = await make_catalog(session)
        alice, alice_shop = await make_seller(session, "alice")
        bob, _ = await make_seller(session, "bob")
        carol = await make_user(session, "carol")
        new_in = await make_shop_category(session, alice_shop, "新品")
        dress = await catalog.create_item(
            session,
            alice,
            tree.item(
                title="碎花连衣裙 floral",
                price=None,
                quantity=None,
                approve_status="onsale",
                skus=[
                    tree.sku("红色", "S", price="10.00", quantity=5),
                    tree.sku("蓝色", "M", price="12.50", quantity=3),
                ],
                input_props={tree.style_no.id: "A-01"},
                location_state="浙江",
                location_city="杭州",
                outer_id="D1",
                description="<p>夏天</p>",
                image_keys=["items/a.png", "items/b.png"],
                seller_cat_ids=[new_in.id],
            ),
        )
        tee = await catalog.create_item(
            session,
            alice,
            tree.item(
                title="纯棉T恤",
                category_id=tree.tops.id,
                props={},
                price="59.00",
                quantity=20,
                approve_status="onsale",
            ),
        )
        spare = await catalog.create_item(session, alice, tree.item(title="库存裙", quantity=0))
        bobs = await catalog.create_item(
            session, bob, tree.item(title="Bob 的连衣裙", approve_status="onsale")
        )
        app, secret = await make_app(session, alice, packages=ALL_PACKAGES)
        other, other_secret = await make_app(session, carol)
        world = World(
            app=app,
            secret=secret,
            seller_token=await make_token(session, app, alice),
            buyer_token=await make_token(session, app, carol),
            other_app=other,
            other_secret=other_secret,
            other_token=await make_token(session, other, alice),
        )
        return Shelf(
            w=world,
            tree=tree,
            alice=alice,
            alice_shop=alice_shop,
            bob=bob,
            bob_token=await make_token(session, app, bob),
            dress=dress,
            tee=tee,
            spare=spare,
            bobs=bobs,
            seller_cat_id=new_in.id,
        )


async def call(
    client: httpx.AsyncClient, s: Shelf, method: str, token: str | None = None, **business: str
) -> httpx.Response:
    return await style_a(client, s.w, system(s.w, method, session=token), business)


def ok(response: httpx.Response, method: str) -> dict[str, Any]:
    assert response.status_code == 200
    body = response.json()
    root = method.removeprefix("taobao.").replace(".", "_") + "_response"
    assert root in body, body
    inner: dict[str, Any] = body[root]
    assert inner.pop("request_id")
    return inner


def assert_error(response: httpx.Response, code: int, sub_code: str) -> None:
    err = error_of(response)
    assert (err["code"], err.get("sub_code")) == (code, sub_code), err


async def fresh(db: Database, item_id: int) -> Item:
    async with db.read() as session:
        item = await session.get(Item, item_id)
        assert item is not None
        return item


def items_of(body: dict[str, Any]) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = body["items"]["item"]
    return items


# --- taobao.items.onsale.get ---------------------------------------------------------

ONSALE = "taobao.items.onsale.get"
LIST_FIELDS = "num_iid,title,nick,price,num,approve_status,cid,seller_cids,location,outer_id"


async def test_items_onsale_get(client: httpx.AsyncClient, shelf: Shelf, db: Database) -> None:
    response = await call(client, shelf, ONSALE, shelf.w.seller_token, fields=LIST_FIELDS)
    body = ok(response, ONSALE)
    dress = {
        "num_iid": shelf.dress.id,
        "title": "碎花连衣裙 floral",
        "nick": "alice",
        "price": "10.00",
        "num": 8,
        "approve_status": "onsale",
        "cid": shelf.tree.dresses.id,
        "seller_cids": str(shelf.seller_cat_id),
        "location": {"state": "浙江", "city": "杭州"},
        "outer_id": "D1",
    }
    tee = {
        "num_iid": shelf.tee.id,
        "title": "纯棉T恤",
        "nick": "alice",
        "price": "59.00",
        "num": 20,
        "approve_status": "onsale",
        "cid": shelf.tree.tops.id,
        "location": {"state": "", "city": ""},
    }
    # list_time:desc by default: the tee was listed last (same instant: the higher id first)
    assert body == {"total_results": 2, "items": {"item": [tee, dress]}}


async def test_items_onsale_get_times_and_sub_fields(
    client: httpx.AsyncClient, shelf: Shelf, db: Database
) -> None:
    row = await fresh(db, shelf.dress.id)
    assert row.list_time is not None
    response = await call(
        client,
        shelf,
        ONSALE,
        shelf.w.seller_token,
        fields="num_iid_str,list_time,modified,location.city,desc,sku",
        q="floral",
    )
    assert items_of(ok(response, ONSALE)) == [
        {
            "num_iid_str": str(shelf.dress.id),
            "list_time": top_datetime(row.list_time),
            "modified": top_datetime(row.modified_at),
            "location": {"city": "杭州"},
        }
    ]


async def test_items_onsale_get_filters_and_order(
    client: httpx.AsyncClient, shelf: Shelf, db: Database
) -> None:
    async def ids(**business: str) -> list[int]:
        response = await call(
            client, shelf, ONSALE, shelf.w.seller_token, fields="num_iid", **business
        )
        body = ok(response, ONSALE)
        return [i["num_iid"] for i in body["items"]["item"]] if "items" in body else []

    dress, tee = shelf.dress.id, shelf.tee.id
    assert await ids(q="连衣裙") == [dress]
    assert await ids(q="t恤") == [tee]
    assert await ids(cid=str(shelf.tree.clothing.id)) == [tee, dress]  # the whole subtree
    assert await ids(cid=str(shelf.tree.tops.id)) == [tee]
    assert await ids(seller_cids=str(shelf.seller_cat_id)) == [dress]
    assert await ids(order_by="num:asc") == [dress, tee]
    assert await ids(order_by="num") == [tee, dress]
    assert await ids(order_by="list_time:asc") == [dress, tee]
    assert await ids(page_size="1", page_no="2") == [dress]
    later = top_datetime(utcnow() + timedelta(hours=1))
    assert await ids(start_modified=later) == []
    assert await ids(end_modified=later) == [tee, dress]


async def test_items_onsale_get_needs_fields(client: httpx.AsyncClient, shelf: Shelf) -> None:
    response = await call(client, shelf, ONSALE, shelf.w.seller_token, page_no="1")
    assert_error(response, 40, "isv.missing-parameter:fields")


@pytest.mark.parametrize(
    ("business", "field"),
    [
        ({"page_size": "201"}, "page_size"),
        ({"page_no": "0"}, "page_no"),
        ({"page_no": "1000", "page_size": "200"}, "page_no"),
        ({"order_by": "price:asc"}, "order_by"),
        ({"order_by": "num:up"}, "order_by"),
        ({"start_modified": "2026-13-01 00:00:00"}, "start_modified"),
        ({"seller_cids": "1,x"}, "seller_cids"),
        ({"cid": "abc"}, "cid"),
        ({"has_discount": "maybe"}, "has_discount"),
    ],
)
async def test_items_onsale_get_invalid_values(
    client: httpx.AsyncClient, shelf: Shelf, business: dict[str, str], field: str
) -> None:
    response = await call(client, shelf, ONSALE, shelf.w.seller_token, fields="num_iid", **business)
    assert_error(response, 41, f"isv.invalid-parameter:{field}")


async def test_items_onsale_get_shows_only_the_sessions_items(
    client: httpx.AsyncClient, shelf: Shelf
) -> None:
    response = await call(client, shelf, ONSALE, shelf.bob_token, fields="num_iid,nick")
    assert ok(response, ONSALE) == {
        "total_results": 1,
        "items": {"item": [{"num_iid": shelf.bobs.id, "nick": "bob"}]},
    }


async def test_items_onsale_get_refuses_a_buyer(client: httpx.AsyncClient, shelf: Shelf) -> None:
    response = await call(client, shelf, ONSALE, shelf.w.buyer_token, fields="num_iid")
    assert_error(response, 42, "isv.user-not-seller")


# --- taobao.items.inventory.get ------------------------------------------------------

INVENTORY = "taobao.items.inventory.get"


async def test_items_inventory_get(client: httpx.AsyncClient, shelf: Shelf) -> None:
    fields = "num_iid,title,num,approve_status"
    response = await call(client, shelf, INVENTORY, shelf.w.seller_token, fields=fields)
    spare = {"num_iid": shelf.spare.id, "title": "库存裙", "num": 0, "approve_status": "instock"}
    assert ok(response, INVENTORY) == {"total_results": 1, "items": {"item": [spare]}}
    for banner, expected in [
        ("sold_out", 1),
        ("never_on_shelf", 1),
        ("for_shelved", 1),
        ("off_shelf", 0),
        ("regular_shelved", 0),
    ]:
        response = await call(
            client, shelf, INVENTORY, shelf.w.seller_token, fields="num_iid", banner=banner
        )
        assert ok(response, INVENTORY)["total_results"] == expected, banner


async def test_items_inventory_get_needs_fields(client: httpx.AsyncClient, shelf: Shelf) -> None:
    response = await call(client, shelf, INVENTORY, shelf.w.seller_token)
    assert_error(response, 40, "isv.missing-parameter:fields")


async def test_items_inventory_get_invalid_banner(client: httpx.AsyncClient, shelf: Shelf) -> None:
    response = await call(
        client, shelf, INVENTORY, shelf.w.seller_token, fields="num_iid", banner="bogus"
    )
    assert_error(response, 41, "isv.invalid-parameter:banner")


async def test_items_inventory_get_shows_only_the_sessions_items(
    client: httpx.AsyncClient, shelf: Shelf
) -> None:
    response = await call(client, shelf, INVENTORY, shelf.bob_token, fields="num_iid")
    assert ok(response, INVENTORY) == {"total_results": 0}  # TOP leaves an empty list out


async def test_items_inventory_get_refuses_a_buyer(client: httpx.AsyncClient, shelf: Shelf) -> None:
    response = await call(client, shelf, INVENTORY, shelf.w.buyer_token, fields="num_iid")
    assert_error(response, 42, "isv.user-not-seller")


# --- taobao.item.seller.get ----------------------------------------------------------

ITEM_GET = "taobao.item.seller.get"


def expected_skus(shelf: Shelf, dress: Item) -> list[dict[str, Any]]:
    t = shelf.tree
    red, blue = t.vid(t.color, "红色"), t.vid(t.color, "蓝色")
    small, medium = t.vid(t.size, "S"), t.vid(t.size, "M")
    skus = sorted(dress.skus, key=lambda s: s.id)
    rows = [
        (skus[0], f"{t.color.id}:{red}:颜色:红色;{t.size.id}:{small}:尺码:S", "10.00", 5),
        (skus[1], f"{t.color.id}:{blue}:颜色:蓝色;{t.size.id}:{medium}:尺码:M", "12.50", 3),
    ]
    return [
        {
            "sku_id": sku.id,
            "sku_id_str": str(sku.id),
            "num_iid": dress.id,
            "num_iid_str": str(dress.id),
            "properties": sku.properties,
            "properties_name": names,
            "quantity": quantity,
            "price": price,
            "created": top_datetime(sku.created_at),
            "modified": top_datetime(sku.modified_at),
            "status": "normal",
        }
        for sku, names, price, quantity in rows
    ]


async def loaded_dress(db: Database, shelf: Shelf) -> Item:
    async with db.read() as session:
        views = await catalog.get_own_item_views(session, shelf.alice, [shelf.dress.id])
        return views[0].detail.item


async def test_item_seller_get(client: httpx.AsyncClient, shelf: Shelf, db: Database) -> None:
    dress = await loaded_dress(db, shelf)
    t = shelf.tree
    fields = "num_iid,title,desc,props,props_name,input_pids,input_str,location,sku,item_img"
    response = await call(
        client, shelf, ITEM_GET, shelf.w.seller_token, fields=fields, num_iid=str(dress.id)
    )
    acme = t.vid(t.brand, "Acme")
    images = sorted(dress.images, key=lambda i: i.position)
    assert ok(response, ITEM_GET) == {
        "item": {
            "num_iid": dress.id,
            "title": "碎花连衣裙 floral",
            "desc": "<p>夏天</p>",
            "props": f"{t.brand.id}:{acme}",
            "props_name": f"{t.brand.id}:{acme}:品牌:Acme",
            "input_pids": str(t.style_no.id),
            "input_str": "A-01",
            "location": {"state": "浙江", "city": "杭州"},
            "item_imgs": {
                "item_img": [
                    {"id": images[0].id, "url": "/media/items/a.png", "position": 0},
                    {"id": images[1].id, "url": "/media/items/b.png", "position": 1},
                ]
            },
            "skus": {"sku": expected_skus(shelf, dress)},
        }
    }


@pytest.mark.parametrize(
    "fields",
    ["sku", "item_img", "props_name", "props,input_pids,input_str", "seller_cids", "title,sku"],
)
async def test_item_seller_get_loads_what_fields_name_and_agrees(
    client: httpx.AsyncClient, shelf: Shelf, db: Database, fields: str
) -> None:
    # given the whole item as one call shows it
    dress = await loaded_dress(db, shelf)
    everything = "num_iid,title,props,props_name,input_pids,input_str,seller_cids,sku,item_img"
    whole = ok(
        await call(
            client, shelf, ITEM_GET, shelf.w.seller_token, fields=everything, num_iid=str(dress.id)
        ),
        ITEM_GET,
    )["item"]
    # when a call names a few fields (only their children are loaded)
    part = ok(
        await call(
            client, shelf, ITEM_GET, shelf.w.seller_token, fields=fields, num_iid=str(dress.id)
        ),
        ITEM_GET,
    )["item"]
    # then it shows exactly those, as the whole read does
    assert part and part == {k: v for k, v in whole.items() if k in part}
    assert set(part) <= {"num_iid", "num_iid_str", "title", *FIELD_PARTS} | {"skus", "item_imgs"}


async def test_item_seller_get_needs_fields_and_num_iid(
    client: httpx.AsyncClient, shelf: Shelf
) -> None:
    response = await call(client, shelf, ITEM_GET, shelf.w.seller_token, fields="title")
    assert_error(response, 40, "isv.missing-parameter:num_iid")
    response = await call(client, shelf, ITEM_GET, shelf.w.seller_token, num_iid="1")
    assert_error(response, 40, "isv.missing-parameter:fields")


async def test_item_seller_get_invalid_num_iid(client: httpx.AsyncClient, shelf: Shelf) -> None:
    response = await call(
        client, shelf, ITEM_GET, shelf.w.seller_token, fields="title", num_iid="abc"
    )
    assert_error(response, 41, "isv.invalid-parameter:num_iid")


async def test_item_seller_get_another_sellers_item_is_not_found(
    client: httpx.AsyncClient, shelf: Shelf
) -> None:
    response = await call(
        client, shelf, ITEM_GET, shelf.w.seller_token, fields="title", num_iid=str(shelf.bobs.id)
    )
    assert_error(response, 15, "isv.item-not-found")


async def test_item_seller_get_refuses_a_buyer(client: httpx.AsyncClient, shelf: Shelf) -> None:
    response = await call(
        client, shelf, ITEM_GET, shelf.w.buyer_token, fields="title", num_iid=str(shelf.dress.id)
    )
    assert_error(response, 42, "isv.user-not-seller")


# --- taobao.items.seller.list.get ----------------------------------------------------

SELLER_LIST = "taobao.items.seller.list.get"


async def test_items_seller_list_get(client: httpx.AsyncClient, shelf: Shelf) -> None:
    wanted = f"{shelf.spare.id},{shelf.bobs.id},{shelf.dress.id},999999"
    response = await call(
        client,
        shelf,
        SELLER_LIST,
        shelf.w.seller_token,
        fields="num_iid,approve_status,sku.sku_id",
        num_iids=wanted,
    )
    items = items_of(ok(response, SELLER_LIST))
    assert [(i["num_iid"], i["approve_status"]) for i in items] == [
        (shelf.spare.id, "instock"),
        (shelf.dress.id, "onsale"),
    ]
    assert "skus" not in items[0]
    assert [set(s) for s in items[1]["skus"]["sku"]] == [{"sku_id"}, {"sku_id"}]


async def test_items_seller_list_get_needs_num_iids(
    client: httpx.AsyncClient, shelf: Shelf
) -> None:
    response = await call(client, shelf, SELLER_LIST, shelf.w.seller_token, fields="num_iid")
    assert_error(response, 40, "isv.missing-parameter:num_iids")


@pytest.mark.parametrize("num_iids", ["1,a", ",".join(str(i) for i in range(1, 22)), "-1"])
async def test_items_seller_list_get_invalid_num_iids(
    client: httpx.AsyncClient, shelf: Shelf, num_iids: str
) -> None:
    response = await call(
        client, shelf, SELLER_LIST, shelf.w.seller_token, fields="num_iid", num_iids=num_iids
    )
    assert_error(response, 41, "isv.invalid-parameter:num_iids")


async def test_items_seller_list_get_only_the_sessions_items(
    client: httpx.AsyncClient, shelf: Shelf
) -> None:
    wanted = f"{shelf.dress.id},{shelf.tee.id}"
    response = await call(
        client, shelf, SELLER_LIST, shelf.bob_token, fields="num_iid", num_iids=wanted
    )
    assert ok(response, SELLER_LIST) == {}


async def test_items_seller_list_get_refuses_a_buyer(
    client: httpx.AsyncClient, shelf: Shelf
) -> None:
    response = await call(
        client, shelf, SELLER_LIST, shelf.w.buyer_token, fields="num_iid", num_iids="1"
    )
    assert_error(response, 42, "isv.user-not-seller")


# --- taobao.item.skus.get ------------------------------------------------------------

SKUS = "taobao.item.skus.get"
SKU_FIELDS = "sku_id,sku_id_str,num_iid,num_iid_str,properties,properties_name,quantity,price"
SKU_FIELDS += ",created,modified,status,outer_id,barcode"


async def test_item_skus_get(client: httpx.AsyncClient, shelf: Shelf, db: Database) -> None:
    dress = await loaded_dress(db, shelf)
    wanted = f"{shelf.tee.id},{dress.id}"
    response = await call(
        client, shelf, SKUS, shelf.w.seller_token, fields=SKU_FIELDS, num_iids=wanted
    )
    assert ok(response, SKUS) == {"skus": {"sku": expected_skus(shelf, dress)}}


async def test_item_skus_get_needs_fields(client: httpx.AsyncClient, shelf: Shelf) -> None:
    response = await call(client, shelf, SKUS, shelf.w.seller_token, num_iids=str(shelf.dress.id))
    assert_error(response, 40, "isv.missing-parameter:fields")


async def test_item_skus_get_at_most_40_items(client: httpx.AsyncClient, shelf: Shelf) -> None:
    many = ",".join(str(i) for i in range(1, 42))
    response = await call(client, shelf, SKUS, shelf.w.seller_token, fields="sku_id", num_iids=many)
    assert_error(response, 41, "isv.invalid-parameter:num_iids")


async def test_item_skus_get_only_the_sessions_items(
    client: httpx.AsyncClient, shelf: Shelf
) -> None:
    response = await call(
        client, shelf, SKUS, shelf.bob_token, fields="sku_id", num_iids=str(shelf.dress.id)
    )
    assert ok(response, SKUS) == {}


async def test_item_skus_get_refuses_a_buyer(client: httpx.AsyncClient, shelf: Shelf) -> None:
    response = await call(
        client, shelf, SKUS, shelf.w.buyer_token, fields="sku_id", num_iids=str(shelf.dress.id)
    )
    assert_error(response, 42, "isv.user-not-seller")


# --- taobao.item.sku.get -------------------------------------------------------------

SKU = "taobao.item.sku.get"


async def test_item_sku_get(client: httpx.AsyncClient, shelf: Shelf, db: Database) -> None:
    dress = await loaded_dress(db, shelf)
    second = expected_skus(shelf, dress)[1]
    response = await call(
        client,
        shelf,
        SKU,
        shelf.w.seller_token,
        sku_id=str(second["sku_id"]),
        num_iid=str(dress.id),
    )
    assert ok(response, SKU) == {"sku": second}  # every field without ``fields``
    response = await call(
        client,
        shelf,
        SKU,
        shelf.w.seller_token,
        fields="sku_id,price",
        sku_id=str(second["sku_id"]),
        num_iid=str(dress.id),
    )
    assert ok(response, SKU) == {"sku": {"sku_id": second["sku_id"], "price": "12.50"}}


async def test_item_sku_get_needs_sku_id(client: httpx.AsyncClient, shelf: Shelf) -> None:
    response = await call(client, shelf, SKU, shelf.w.seller_token, num_iid=str(shelf.dress.id))
    assert_error(response, 40, "isv.missing-parameter:sku_id")


async def test_item_sku_get_invalid_sku_id(client: httpx.AsyncClient, shelf: Shelf) -> None:
    response = await call(
        client, shelf, SKU, shelf.w.seller_token, sku_id="x", num_iid=str(shelf.dress.id)
    )
    assert_error(response, 41, "isv.invalid-parameter:sku_id")


async def test_item_sku_get_another_sellers_sku_is_not_found(
    client: httpx.AsyncClient, shelf: Shelf, db: Database
) -> None:
    dress = await loaded_dress(db, shelf)
    sku_id = str(dress.skus[0].id)
    response = await call(client, shelf, SKU, shelf.bob_token, sku_id=sku_id, num_iid=str(dress.id))
    assert_error(response, 15, "isv.item-not-found")
    # a SKU of another of one's items is not this item's
    response = await call(
        client, shelf, SKU, shelf.w.seller_token, sku_id=sku_id, num_iid=str(shelf.tee.id)
    )
    assert_error(response, 15, "isv.sku-not-found")


async def test_item_sku_get_refuses_a_buyer(client: httpx.AsyncClient, shelf: Shelf) -> None:
    response = await call(client, shelf, SKU, shelf.w.buyer_token, sku_id="1", num_iid="1")
    assert_error(response, 42, "isv.user-not-seller")


# --- taobao.itemcats.get -------------------------------------------------------------

ITEMCATS = "taobao.itemcats.get"


async def test_itemcats_get(client: httpx.AsyncClient, shelf: Shelf) -> None:
    t = shelf.tree
    response = await call(client, shelf, ITEMCATS, parent_cid="0")  # no session needed
    assert ok(response, ITEMCATS) == {
        "item_cats": {
            "item_cat": [
                {"cid": t.clothing.id, "parent_cid": 0, "name": "女装", "is_parent": True},
                {"cid": t.digital.id, "parent_cid": 0, "name": "数码", "is_parent": True},
            ]
        }
    }
    response = await call(
        client, shelf, ITEMCATS, parent_cid=str(t.clothing.id), fields="cid,sort_order,status"
    )
    assert ok(response, ITEMCATS)["item_cats"]["item_cat"] == [
        {"cid": t.tops.id, "sort_order": 1, "status": "normal"},
        {"cid": t.dresses.id, "sort_order": 2, "status": "normal"},
    ]
    # cids: in the order asked; a closed category is left out
    cids = f"{t.phones.id},{t.closed.id},{t.dresses.id}"
    response = await call(client, shelf, ITEMCATS, cids=cids, fields="cid,parent_cid")
    assert ok(response, ITEMCATS)["item_cats"]["item_cat"] == [
        {"cid": t.phones.id, "parent_cid": t.digital.id},
        {"cid": t.dresses.id, "parent_cid": t.clothing.id},
    ]


async def test_itemcats_get_needs_cids_or_parent_cid(
    client: httpx.AsyncClient, shelf: Shelf
) -> None:
    response = await call(client, shelf, ITEMCATS, fields="cid")
    assert_error(response, 40, "isv.missing-parameter:cids")


@pytest.mark.parametrize(
    ("business", "field"), [({"cids": "1,b"}, "cids"), ({"parent_cid": "-1"}, "parent_cid")]
)
async def test_itemcats_get_invalid_values(
    client: httpx.AsyncClient, shelf: Shelf, business: dict[str, str], field: str
) -> None:
    response = await call(client, shelf, ITEMCATS, **business)
    assert_error(response, 41, f"isv.invalid-parameter:{field}")


# --- taobao.itemprops.get ------------------------------------------------------------

ITEMPROPS = "taobao.itemprops.get"


async def test_itemprops_get(client: httpx.AsyncClient, shelf: Shelf) -> None:
    t = shelf.tree
    response = await call(client, shelf, ITEMPROPS, cid=str(t.dresses.id), is_sale_prop="true")
    values = [
        {
            "cid": t.dresses.id,
            "pid": t.color.id,
            "prop_name": "颜色",
            "vid": v.id,
            "name": v.name,
            "is_parent": False,
            "status": "normal",
            "sort_order": v.sort_order,
        }
        for v in t.color.values
    ]
    props = ok(response, ITEMPROPS)["item_props"]["item_prop"]
    assert props[0] == {
        "pid": t.color.id,
        "name": "颜色",
        "must": False,
        "multi": False,
        "prop_values": {"prop_value": values},
    }
    assert [p["pid"] for p in props] == [t.color.id, t.size.id]
    response = await call(
        client,
        shelf,
        ITEMPROPS,
        cid=str(t.dresses.id),
        fields="pid,is_key_prop,prop_value.vid",
        is_key_prop="True",
    )
    assert ok(response, ITEMPROPS) == {
        "item_props": {
            "item_prop": [
                {
                    "pid": t.brand.id,
                    "is_key_prop": True,
                    "prop_values": {"prop_value": [{"vid": v.id} for v in t.brand.values]},
                }
            ]
        }
    }
    response = await call(client, shelf, ITEMPROPS, cid=str(t.dresses.id), pid=str(t.size.id))
    assert [p["name"] for p in ok(response, ITEMPROPS)["item_props"]["item_prop"]] == ["尺码"]


async def test_itemprops_get_needs_cid(client: httpx.AsyncClient, shelf: Shelf) -> None:
    response = await call(client, shelf, ITEMPROPS, fields="pid")
    assert_error(response, 40, "isv.missing-parameter:cid")


@pytest.mark.parametrize(
    ("business", "field"), [({"cid": "x"}, "cid"), ({"is_sale_prop": "maybe"}, "is_sale_prop")]
)
async def test_itemprops_get_invalid_values(
    client: httpx.AsyncClient, shelf: Shelf, business: dict[str, str], field: str
) -> None:
    business.setdefault("cid", str(shelf.tree.dresses.id))
    response = await call(client, shelf, ITEMPROPS, **business)
    assert_error(response, 41, f"isv.invalid-parameter:{field}")


async def test_itemprops_get_unknown_category(client: httpx.AsyncClient, shelf: Shelf) -> None:
    response = await call(client, shelf, ITEMPROPS, cid="999999")
    assert_error(response, 15, "isv.not-found")


# --- the service functions these methods added ---------------------------------------


async def test_filter_seller_items_is_the_sellers_only(shelf: Shelf, db: Database) -> None:
    async with db.read() as session:
        everything = SellerItemFilter(approve_status="onsale", terms=("连衣裙",))
        mine = await catalog.filter_seller_items(session, shelf.alice, everything, PageRequest())
        theirs = await catalog.filter_seller_items(session, shelf.bob, everything, PageRequest())
        with pytest.raises(ValidationFailed):
            bad = SellerItemFilter(approve_status="deleted")
            await catalog.filter_seller_items(session, shelf.alice, bad, PageRequest())
    assert [i.id for i in mine.items] == [shelf.dress.id]
    assert [i.id for i in theirs.items] == [shelf.bobs.id]


async def test_filter_seller_items_escapes_like_wildcards(shelf: Shelf, db: Database) -> None:
    async with db.read() as session:
        wild = SellerItemFilter(approve_status="onsale", terms=("%",))
        page = await catalog.filter_seller_items(session, shelf.alice, wild, PageRequest())
    assert page.items == [] and page.total == 0


async def test_get_own_item_views(shelf: Shelf, db: Database) -> None:
    async with db.write() as session:
        await catalog.delete_item(session, shelf.alice, shelf.tee.id)
    async with db.read() as session:
        ids = [shelf.spare.id, shelf.bobs.id, shelf.tee.id, shelf.dress.id, shelf.spare.id]
        views = await catalog.get_own_item_views(session, shelf.alice, ids)
        assert await catalog.get_own_item_views(session, shelf.bob, [shelf.dress.id]) == []
    assert [v.detail.item.id for v in views] == [shelf.spare.id, shelf.dress.id]
    dress = views[1]
    assert len(dress.detail.skus) == 2
    assert set(dress.props) == {
        p.id for p in (shelf.tree.brand, shelf.tree.material, shelf.tree.style_no)
    } | {shelf.tree.color.id, shelf.tree.size.id}


async def test_items_outside_the_seller_stay_unchanged(shelf: Shelf, db: Database) -> None:
    # reads never write: the items' modified times are those of their creation
    async with db.read() as session:
        before = {i.id: i.modified_at for i in await session.scalars(select(Item))}
    async with db.read() as session:
        await catalog.get_own_item_views(session, shelf.alice, list(before))
    async with db.read() as session:
        after = {i.id: i.modified_at for i in await session.scalars(select(Item))}
    assert before == after
