"""taobao.user.* / taobao.shop.* / taobao.sellercats.* through /router/rest (Style A: system
parameters in the query string, business parameters in the form body, md5, ms timestamps),
plus the small service functions they added. Runs on SQLite, and on PostgreSQL too when
MERCATO_TEST_DATABASE_URL is set."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from mercato.developer.packages import ALL_PACKAGES
from mercato.gateway.envelope import top_datetime
from mercato.kit.db import Database
from mercato.kit.errors import NotFound, ValidationFailed
from mercato.models import Shop, ShopCategory, User, UserRole
from mercato.shops import service as shops
from mercato.shops.schemas import ShopCategoryInput
from tests.factories.accounts import make_user
from tests.factories.catalog import make_seller, make_shop_category
from tests.factories.gateway import make_app, make_token
from tests.gateway.conftest import World, error_of, style_a, system


@dataclass
class M1:
    w: World  # its app holds every package; seller_token is alice's, buyer_token carol's
    alice: User
    alice_shop: Shop
    bob: User
    bob_shop: Shop
    bob_token: str
    dave_token: str  # a seller without a shop


@pytest.fixture
async def m1(db: Database) -> M1:
    async with db.write() as session:
        alice, alice_shop = await make_seller(session, "alice")
        bob, bob_shop = await make_seller(session, "bob")
        carol = await make_user(session, "carol")
        dave = await make_user(session, "dave")
        dave.roles.append(UserRole(role="seller"))  # a seller who opened no shop
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
        return M1(
            w=world,
            alice=alice,
            alice_shop=alice_shop,
            bob=bob,
            bob_shop=bob_shop,
            bob_token=await make_token(session, app, bob),
            dave_token=await make_token(session, app, dave),
        )


async def call(
    client: httpx.AsyncClient, m: M1, method: str, token: str | None = None, **business: str
) -> httpx.Response:
    return await style_a(client, m.w, system(m.w, method, session=token), business)


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


async def shop_row(db: Database, shop_id: int) -> Shop:
    async with db.read() as session:
        shop = await session.get(Shop, shop_id)
        assert shop is not None
        return shop


async def categories_of(db: Database, shop_id: int) -> list[ShopCategory]:
    async with db.read() as session:
        rows = await session.scalars(
            select(ShopCategory).where(ShopCategory.shop_id == shop_id).order_by(ShopCategory.id)
        )
        return list(rows)


# --- taobao.user.seller.get ----------------------------------------------------------

USER_SELLER = "taobao.user.seller.get"


async def test_user_seller_get(client: httpx.AsyncClient, m1: M1) -> None:
    fields = "user_id,nick,seller_credit,type,has_shop,status,avatar"
    response = await call(client, m1, USER_SELLER, m1.w.seller_token, fields=fields)
    assert ok(response, USER_SELLER) == {
        "user": {
            "user_id": m1.alice.id,
            "nick": "alice",
            "seller_credit": {"level": 0, "score": 0, "total_num": 0, "good_num": 0},
            "type": "C",
            "has_shop": True,
            "status": "normal",
        }
    }


async def test_user_seller_get_fields_select_and_twins(client: httpx.AsyncClient, m1: M1) -> None:
    response = await call(client, m1, USER_SELLER, m1.dave_token, fields="user_id_str,has_shop")
    assert ok(response, USER_SELLER)["user"]["has_shop"] is False
    assert set(ok(response, USER_SELLER)["user"]) == {"user_id_str", "has_shop"}


async def test_user_seller_get_needs_fields(client: httpx.AsyncClient, m1: M1) -> None:
    response = await call(client, m1, USER_SELLER, m1.w.seller_token)
    assert_error(response, 40, "isv.missing-parameter:fields")


async def test_user_seller_get_is_the_sessions_own(client: httpx.AsyncClient, m1: M1) -> None:
    response = await call(client, m1, USER_SELLER, m1.bob_token, fields="user_id,nick")
    assert ok(response, USER_SELLER) == {"user": {"user_id": m1.bob.id, "nick": "bob"}}


async def test_user_seller_get_refuses_a_buyer(client: httpx.AsyncClient, m1: M1) -> None:
    response = await call(client, m1, USER_SELLER, m1.w.buyer_token, fields="nick")
    assert_error(response, 42, "isv.user-not-seller")


async def test_user_seller_get_needs_the_users_package(
    client: httpx.AsyncClient, m1: M1, db: Database
) -> None:
    async with db.write() as session:
        narrow, secret = await make_app(session, m1.alice, packages=("items-read",))
        token = await make_token(session, narrow, m1.alice)
    world = World(narrow, secret, token, token, narrow, secret, token)
    response = await style_a(
        client, world, system(world, USER_SELLER, session=token), {"fields": "nick"}
    )
    assert_error(response, 11, "isv.permission-api-package-not-allowed")


# --- taobao.user.buyer.get -----------------------------------------------------------

USER_BUYER = "taobao.user.buyer.get"


async def test_user_buyer_get(client: httpx.AsyncClient, m1: M1, db: Database) -> None:
    async with db.write() as session:
        carol = await session.scalar(select(User).where(User.nick == "carol"))
        assert carol is not None
        carol.avatar_url = "https://img.example/carol.png"
    fields = "nick,avatar,user_id,type"
    response = await call(client, m1, USER_BUYER, m1.w.buyer_token, fields=fields)
    assert ok(response, USER_BUYER) == {
        "user": {"nick": "carol", "avatar": "https://img.example/carol.png"}
    }
    # any user's session: a seller sees themself the same way
    response = await call(client, m1, USER_BUYER, m1.w.seller_token, fields=fields)
    assert ok(response, USER_BUYER) == {"user": {"nick": "alice"}}


async def test_user_buyer_get_needs_fields(client: httpx.AsyncClient, m1: M1) -> None:
    response = await call(client, m1, USER_BUYER, m1.w.buyer_token, fields=",")
    assert_error(response, 40, "isv.missing-parameter:fields")


async def test_user_buyer_get_needs_a_session(client: httpx.AsyncClient, m1: M1) -> None:
    response = await call(client, m1, USER_BUYER, None, fields="nick")
    assert error_of(response)["code"] == 26


# --- taobao.shop.seller.get ----------------------------------------------------------

SHOP_SELLER = "taobao.shop.seller.get"
SHOP_FIELDS = "sid,title,pic_path,desc,bulletin,created,modified"


async def test_shop_seller_get(client: httpx.AsyncClient, m1: M1, db: Database) -> None:
    async with db.write() as session:
        shop = await session.get(Shop, m1.alice_shop.id)
        assert shop is not None
        shop.description, shop.bulletin, shop.logo_key = "好店", "上新", "logos/a.png"
    row = await shop_row(db, m1.alice_shop.id)
    response = await call(client, m1, SHOP_SELLER, m1.w.seller_token, fields=SHOP_FIELDS)
    assert ok(response, SHOP_SELLER) == {
        "shop": {
            "sid": m1.alice_shop.id,
            "title": "alice's shop",
            "pic_path": "logos/a.png",
            "desc": "好店",
            "bulletin": "上新",
            "created": top_datetime(row.created_at),
            "modified": top_datetime(row.modified_at),
        }
    }


async def test_shop_seller_get_needs_fields(client: httpx.AsyncClient, m1: M1) -> None:
    response = await call(client, m1, SHOP_SELLER, m1.w.seller_token)
    assert_error(response, 40, "isv.missing-parameter:fields")


async def test_shop_seller_get_is_the_sessions_own(client: httpx.AsyncClient, m1: M1) -> None:
    response = await call(client, m1, SHOP_SELLER, m1.bob_token, fields="sid,title")
    assert ok(response, SHOP_SELLER) == {"shop": {"sid": m1.bob_shop.id, "title": "bob's shop"}}
    # a seller without a shop has none to show
    response = await call(client, m1, SHOP_SELLER, m1.dave_token, fields="sid")
    assert_error(response, 15, "isv.no-shop")


async def test_shop_seller_get_refuses_a_buyer(client: httpx.AsyncClient, m1: M1) -> None:
    response = await call(client, m1, SHOP_SELLER, m1.w.buyer_token, fields="sid")
    assert_error(response, 42, "isv.user-not-seller")


# --- taobao.shop.get -----------------------------------------------------------------

SHOP_GET = "taobao.shop.get"


async def test_shop_get_by_nick_without_session(
    client: httpx.AsyncClient, m1: M1, db: Database
) -> None:
    row = await shop_row(db, m1.alice_shop.id)
    response = await call(client, m1, SHOP_GET, nick="ALICE")
    assert ok(response, SHOP_GET) == {
        "shop": {
            "sid": m1.alice_shop.id,
            "nick": "alice",
            "title": "alice's shop",
            "desc": "",
            "bulletin": "",
            "created": top_datetime(row.created_at),
            "modified": top_datetime(row.modified_at),
        }
    }
    response = await call(client, m1, SHOP_GET, nick="bob", fields="sid,sid_str,nick")
    sid = m1.bob_shop.id
    assert ok(response, SHOP_GET) == {"shop": {"sid": sid, "sid_str": str(sid), "nick": "bob"}}


async def test_shop_get_needs_nick(client: httpx.AsyncClient, m1: M1) -> None:
    response = await call(client, m1, SHOP_GET, fields="sid")
    assert_error(response, 40, "isv.missing-parameter:nick")


async def test_shop_get_unknown_or_closed_shop(
    client: httpx.AsyncClient, m1: M1, db: Database
) -> None:
    for nick in ("nobody", "dave"):
        response = await call(client, m1, SHOP_GET, nick=nick)
        assert_error(response, 15, "isv.shop-not-found")
    async with db.write() as session:
        shop = await session.get(Shop, m1.bob_shop.id)
        assert shop is not None
        shop.status = "closed"
    response = await call(client, m1, SHOP_GET, nick="bob")
    assert_error(response, 15, "isv.shop-not-found")


# --- taobao.shop.update --------------------------------------------------------------

SHOP_UPDATE = "taobao.shop.update"


async def test_shop_update(client: httpx.AsyncClient, m1: M1, db: Database) -> None:
    response = await call(
        client, m1, SHOP_UPDATE, m1.w.seller_token, title=" 新店名 ", bulletin="全场包邮"
    )
    row = await shop_row(db, m1.alice_shop.id)
    assert ok(response, SHOP_UPDATE) == {
        "shop": {"sid": m1.alice_shop.id, "modified": top_datetime(row.modified_at)}
    }
    assert (row.title, row.bulletin, row.description) == ("新店名", "全场包邮", "")
    # desc alone: the title and bulletin keep their values
    response = await call(client, m1, SHOP_UPDATE, m1.w.seller_token, desc="<p>hi</p>")
    ok(response, SHOP_UPDATE)
    row = await shop_row(db, m1.alice_shop.id)
    assert (row.title, row.bulletin, row.description) == ("新店名", "全场包邮", "<p>hi</p>")


async def test_shop_update_needs_something(client: httpx.AsyncClient, m1: M1) -> None:
    response = await call(client, m1, SHOP_UPDATE, m1.w.seller_token, title="")
    assert_error(response, 40, "isv.missing-parameter:title")


async def test_shop_update_invalid_values(client: httpx.AsyncClient, m1: M1, db: Database) -> None:
    response = await call(client, m1, SHOP_UPDATE, m1.w.seller_token, title="x")
    assert_error(response, 41, "isv.invalid-parameter:title")
    response = await call(client, m1, SHOP_UPDATE, m1.w.seller_token, desc="d" * 2001)
    assert_error(response, 41, "isv.invalid-parameter:desc")
    row = await shop_row(db, m1.alice_shop.id)
    assert (row.title, row.description) == ("alice's shop", "")


async def test_shop_update_changes_only_the_sessions_shop(
    client: httpx.AsyncClient, m1: M1, db: Database
) -> None:
    response = await call(client, m1, SHOP_UPDATE, m1.bob_token, title="Bob 的店")
    assert ok(response, SHOP_UPDATE)["shop"]["sid"] == m1.bob_shop.id
    assert (await shop_row(db, m1.alice_shop.id)).title == "alice's shop"
    assert (await shop_row(db, m1.bob_shop.id)).title == "Bob 的店"


async def test_shop_update_refuses_a_buyer(client: httpx.AsyncClient, m1: M1, db: Database) -> None:
    response = await call(client, m1, SHOP_UPDATE, m1.w.buyer_token, title="hijack")
    assert_error(response, 42, "isv.user-not-seller")
    assert (await shop_row(db, m1.alice_shop.id)).title == "alice's shop"


# --- taobao.sellercats.list.get ------------------------------------------------------

CATS_GET = "taobao.sellercats.list.get"


async def test_sellercats_list_get(client: httpx.AsyncClient, m1: M1, db: Database) -> None:
    async with db.write() as session:
        later = ShopCategory(shop_id=m1.alice_shop.id, name="上衣", sort_order=2)
        first = ShopCategory(
            shop_id=m1.alice_shop.id, name="新品", sort_order=1, pic_url="https://p/x.png"
        )
        session.add_all([later, first])
        await session.flush()
        child = ShopCategory(shop_id=m1.alice_shop.id, name="T恤", parent_id=later.id)
        session.add(child)
        await make_shop_category(session, m1.bob_shop, "bob's")
        await session.flush()
        ids = (first.id, later.id, child.id)
    response = await call(client, m1, CATS_GET, nick="alice")
    assert ok(response, CATS_GET) == {
        "seller_cats": {
            "seller_cat": [
                {
                    "cid": ids[0],
                    "parent_cid": 0,
                    "name": "新品",
                    "pic_url": "https://p/x.png",
                    "sort_order": 1,
                    "type": "manual_type",
                },
                {
                    "cid": ids[1],
                    "parent_cid": 0,
                    "name": "上衣",
                    "sort_order": 2,
                    "type": "manual_type",
                },
                {
                    "cid": ids[2],
                    "parent_cid": ids[1],
                    "name": "T恤",
                    "sort_order": 0,
                    "type": "manual_type",
                },
            ]
        }
    }
    response = await call(client, m1, CATS_GET, nick="alice", fields="cid,name")
    assert ok(response, CATS_GET)["seller_cats"]["seller_cat"][0] == {"cid": ids[0], "name": "新品"}


async def test_sellercats_list_get_needs_nick(client: httpx.AsyncClient, m1: M1) -> None:
    response = await call(client, m1, CATS_GET, fields="cid")
    assert_error(response, 40, "isv.missing-parameter:nick")


async def test_sellercats_list_get_unknown_nick(client: httpx.AsyncClient, m1: M1) -> None:
    response = await call(client, m1, CATS_GET, nick="nobody")
    assert_error(response, 15, "isv.shop-not-found")


async def test_sellercats_list_get_shows_only_that_shop(
    client: httpx.AsyncClient, m1: M1, db: Database
) -> None:
    async with db.write() as session:
        await make_shop_category(session, m1.alice_shop, "alice only")
    response = await call(client, m1, CATS_GET, nick="bob")
    assert ok(response, CATS_GET) == {}  # TOP leaves an empty list out


# --- taobao.sellercats.list.add ------------------------------------------------------

CATS_ADD = "taobao.sellercats.list.add"


async def test_sellercats_list_add(client: httpx.AsyncClient, m1: M1, db: Database) -> None:
    response = await call(client, m1, CATS_ADD, m1.w.seller_token, name="新品", sort_order="3")
    parent = (await categories_of(db, m1.alice_shop.id))[0]
    assert ok(response, CATS_ADD) == {
        "seller_cat": {"cid": parent.id, "created": top_datetime(parent.created_at)}
    }
    assert (parent.name, parent.parent_id, parent.sort_order) == ("新品", None, 3)
    response = await call(
        client,
        m1,
        CATS_ADD,
        m1.w.seller_token,
        name="连衣裙",
        parent_cid=str(parent.id),
        pict_url="https://img.example/c.png",
    )
    child_id = ok(response, CATS_ADD)["seller_cat"]["cid"]
    child = (await categories_of(db, m1.alice_shop.id))[1]
    assert (child.id, child.parent_id, child.pic_url) == (
        child_id,
        parent.id,
        "https://img.example/c.png",
    )


async def test_sellercats_list_add_needs_name(client: httpx.AsyncClient, m1: M1) -> None:
    response = await call(client, m1, CATS_ADD, m1.w.seller_token, sort_order="1")
    assert_error(response, 40, "isv.missing-parameter:name")


async def test_sellercats_list_add_invalid_values(
    client: httpx.AsyncClient, m1: M1, db: Database
) -> None:
    cases = [
        ({"parent_cid": "-1"}, "parent_cid"),
        ({"parent_cid": "x"}, "parent_cid"),
        ({"pict_url": "javascript:alert(1)"}, "pict_url"),
        ({"name": "n" * 41}, "name"),
    ]
    for extra, field in cases:
        business = {"name": "ok", **extra}
        response = await call(client, m1, CATS_ADD, m1.w.seller_token, **business)
        assert_error(response, 41, f"isv.invalid-parameter:{field}")
    assert await categories_of(db, m1.alice_shop.id) == []


async def test_sellercats_list_add_cannot_use_another_shops_parent(
    client: httpx.AsyncClient, m1: M1, db: Database
) -> None:
    async with db.write() as session:
        bobs = await make_shop_category(session, m1.bob_shop, "bob's")
    response = await call(
        client, m1, CATS_ADD, m1.w.seller_token, name="mine", parent_cid=str(bobs.id)
    )
    assert_error(response, 41, "isv.invalid-parameter:parent_cid")
    assert await categories_of(db, m1.alice_shop.id) == []
    assert len(await categories_of(db, m1.bob_shop.id)) == 1


async def test_sellercats_list_add_refuses_a_buyer(
    client: httpx.AsyncClient, m1: M1, db: Database
) -> None:
    response = await call(client, m1, CATS_ADD, m1.w.buyer_token, name="x")
    assert_error(response, 42, "isv.user-not-seller")
    assert await categories_of(db, m1.alice_shop.id) == []


# --- the service functions these methods added ---------------------------------------


async def test_shop_of_nick_and_seller_shop(m1: M1, db: Database) -> None:
    async with db.read() as session:
        shop, seller = await shops.shop_of_nick(session, "Alice")
        assert (shop.id, seller.id) == (m1.alice_shop.id, m1.alice.id)
        assert (await shops.seller_shop(session, m1.bob)) is not None
        for nick in ("nobody", "dave", "carol"):
            with pytest.raises(NotFound):
                await shops.shop_of_nick(session, nick)


def test_credit_level_follows_tops_thresholds() -> None:
    cases = [(-5, 0), (0, 0), (3, 0), (4, 1), (10, 1), (11, 2), (250, 5), (251, 6)]
    cases += [(10_000, 10), (10_001, 11), (10_000_001, 20)]
    assert [(score, shops.credit_level(score)) for score, _ in cases] == cases


async def test_seller_credit_without_ratings(m1: M1, db: Database) -> None:
    async with db.read() as session:
        credit = await shops.seller_credit(session, m1.alice_shop.id)
    assert credit == shops.SellerCredit(level=0, score=0, total_num=0, good_num=0)


async def test_add_shop_category_checks_the_picture(m1: M1, db: Database) -> None:
    async with db.write() as session:
        data = ShopCategoryInput(name="x")
        with pytest.raises(ValidationFailed) as caught:
            await shops.add_shop_category(session, m1.alice, data, pic_url="data:x")
        assert caught.value.problems[0].field == "pic_url"
        made = await shops.add_shop_category(session, m1.alice, data, pic_url="/media/c.png")
        assert made.pic_url == "/media/c.png"
