"""The authorization matrix (issue 4 item 6, DESIGN.md §6): every registered method, called
signed through ``/router/rest``, is checked for

1. its declaration: a permission package, or one of the explicitly package-free methods; the
   session-free methods are exactly an allow-list;
2. anonymous calls (no session) → 26;
3. an app holding every package but the method's → 11 ``isv.permission-api-package-*``;
4. a session of the wrong role → 42 ``isv.user-not-<role>``;
5. tenancy: another seller (or buyer) aiming at seller A's objects never sees A's data;
6. a test elsewhere naming the method.

Every denied call must leave the database as it was. Last, the rightful owner makes the same
call, which proves the parameters were sensible and the denials came from authorization.

The matrix is parametrized over ``REGISTRY.methods()`` at collection time, so a new method is
covered (and must be filled in here) automatically. The checks of one method share one world
to keep the runtime modest.
"""

from __future__ import annotations

from datetime import timedelta
from io import BytesIO
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image
from sqlalchemy import func, select

from mercato.developer.packages import ALL_PACKAGES
from mercato.gateway import envelope, signing
from mercato.gateway.registry import REGISTRY, Method
from mercato.kit.clock import utcnow
from mercato.kit.db import Database
from mercato.models import (
    Item,
    Order,
    OutboxEvent,
    Refund,
    Shop,
    ShopCategory,
    Sku,
    Trade,
    TradeRate,
)
from tests.factories.matrix import MatrixWorld, make_matrix_world
from tests.gateway.conftest import error_of, system

METHODS = REGISTRY.methods()
TESTS = Path(__file__).resolve().parents[1]

# Adding a session-free (or package-free) method must be a deliberate act: list it here.
SESSION_FREE = {
    "taobao.time.get",
    "taobao.top.auth.token.create",
    "taobao.top.auth.token.refresh",
    "taobao.logistics.companies.get",
    "taobao.shop.get",
    "taobao.sellercats.list.get",
    "taobao.itemcats.get",
    "taobao.itemprops.get",
}
FILE_METHODS = {"taobao.item.img.upload"}  # sent as multipart with an ``image`` part
PACKAGE_FREE = {"taobao.time.get", "taobao.top.auth.token.create", "taobao.top.auth.token.refresh"}

# Session methods whose tenancy cannot be aimed at another seller's object: they take no
# object id and act on the caller's own shop (a call would rightly change the caller's data).
TENANCY_NOT_APPLICABLE = {
    "taobao.item.add": "creates an item in the caller's own shop; no object id to aim at",
    "taobao.shop.update": "updates the caller's own shop; no object id to aim at",
    "taobao.sellercats.list.add": "adds a category to the caller's own shop; no object id",
}

# The tables a denied call must not touch.
TABLES = (Trade, Order, Item, Sku, Refund, TradeRate, Shop, ShopCategory, OutboxEvent)


def params_for(w: MatrixWorld, method: Method) -> dict[str, str]:
    """The business parameters of a call aimed at seller A's objects: object ids mapped to
    A's, other required parameters filled with values the owner's call would accept."""
    ids: dict[str, object] = {
        "num_iid": w.item_id,
        "num_iids": w.item_id,
        "sku_id": w.sku_id,
        "tid": w.shipped_tid,
        "oid": w.shipped_oid,
        "refund_id": w.refund_id,
        "refund_infos": w.refund_id,
        "nick": w.seller_a_nick,
        "cid": w.leaf_cid,
    }
    per_method: dict[str, dict[str, object]] = {
        "taobao.item.add": {
            "num": 3,
            "price": "9.90",
            "title": "matrix new item",
            "desc": "a new item",
            "location.state": "浙江",
            "location.city": "杭州",
            "cid": w.phones_cid,
        },
        "taobao.item.quantity.update": {"quantity": 7, "sku_id": w.sku_id},
        "taobao.item.sku.add": {
            "properties": w.free_sku_properties,
            "quantity": 2,
            "price": "11.00",
        },
        "taobao.item.sku.update": {"properties": w.sku_properties, "quantity": 9},
        "taobao.item.update": {"title": "renamed by the matrix"},
        "taobao.item.update.listing": {"num": 4},
        "taobao.logistics.offline.send": {
            "tid": w.paid_tid,
            "out_sid": "SF900000000001",
            "company_code": "SF",
        },
        "taobao.refund.refuse": {"refuse_message": "not agreed"},
        "taobao.sellercats.list.add": {"name": "matrix category"},
        "taobao.shop.update": {"title": "renamed shop"},
        "taobao.top.auth.token.create": {"code": "not-a-code"},
        "taobao.top.auth.token.refresh": {"refresh_token": "not-a-token"},
        "taobao.itemcats.get": {"cids": w.leaf_cid},
        "taobao.trade.close": {"tid": w.unpaid_tid, "close_reason": "buyer asked"},
        "taobao.trade.memo.add": {"memo": "matrix memo"},
        "taobao.trade.memo.update": {"memo": "matrix memo 2"},
        "taobao.trade.receivetime.delay": {"days": 3},
        "taobao.trade.shippingaddress.update": {"tid": w.paid_tid, "receiver_name": "王五"},
        "taobao.traderate.add": {
            "tid": w.finished_tid,
            "result": "good",
            "role": "seller",
            "content": "fine",
        },
        "taobao.traderates.get": {"rate_type": "get", "role": "buyer", "tid": w.shipped_tid},
        "taobao.trades.sold.increment.get": {
            "start_modified": envelope.top_datetime(utcnow() - timedelta(hours=12)),
            "end_modified": envelope.top_datetime(utcnow() + timedelta(hours=1)),
        },
        "taobao.logistics.companies.get": {"fields": "id,code,name"},
    }
    out: dict[str, object] = {}
    for name, field in method.params.model_fields.items():
        key = field.alias or name
        if key in ids and field.is_required():
            out[key] = ids[key]
        elif key == "fields":
            out[key] = w.fields_for(method.name)
    out.update(per_method.get(method.name, {}))
    return {k: str(v) for k, v in out.items()}


def takes_object_id(method: Method) -> bool:
    keys = {f.alias or n for n, f in method.params.model_fields.items()}
    return bool(keys & {"num_iid", "num_iids", "sku_id", "tid", "refund_id", "refund_infos"})


async def counts(db: Database) -> dict[str, Any]:
    """Row counts of the main tables, plus the mutable state of A's objects."""
    async with db.read() as session:
        out: dict[str, Any] = {
            model.__tablename__: await session.scalar(select(func.count()).select_from(model))
            for model in TABLES
        }
        out["trades"] = [
            (t.id, t.status, t.modified, t.seller_memo, t.receiver_name, t.event_seq)
            for t in await session.scalars(select(Trade).order_by(Trade.id))
        ]
        out["items"] = [
            (i.id, i.title, i.quantity, i.approve_status, i.modified_at)
            for i in await session.scalars(select(Item).order_by(Item.id))
        ]
        out["skus"] = [(s.id, s.quantity, s.price) for s in await session.scalars(select(Sku))]
        out["refunds"] = [
            (r.id, r.status, r.modified) for r in await session.scalars(select(Refund))
        ]
        out["shops"] = [(s.id, s.title) for s in await session.scalars(select(Shop))]
    return out


async def call(
    client: httpx.AsyncClient,
    w: MatrixWorld,
    method: Method,
    *,
    as_app: str = "full",
    token: str | None = None,
) -> httpx.Response:
    """A signed Style A call of ``method`` on one of the world's apps, aimed at A's objects
    (system parameters in the query, business ones in the body, md5; a file part unsigned)."""
    app = w.apps[as_app]
    sys_params = system(app, method.name, session=token)  # type: ignore[arg-type]
    business = params_for(w, method)
    sign = signing.sign({**sys_params, **business}, app.secret, "md5")
    files = {"image": ("a.png", png(), "image/png")} if method.name in FILE_METHODS else None
    return await client.post(
        "/router/rest", params={**sys_params, "sign": sign}, data=business, files=files
    )


def png() -> bytes:
    out = BytesIO()
    Image.new("RGB", (8, 8), "red").save(out, format="PNG")
    return out.getvalue()


def leaks(w: MatrixWorld, response: httpx.Response) -> list[str]:
    """A's markers (nicks, titles, memo) found in a response."""
    return [m for m in w.markers if m in response.text]


def body_of(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


# --- 1. declarations ----------------------------------------------------------------


def test_the_session_free_methods_are_exactly_the_allow_list() -> None:
    assert {m.name for m in METHODS if not m.session} == SESSION_FREE


@pytest.mark.parametrize("method", METHODS, ids=lambda m: m.name)
def test_every_method_declares_a_package_or_is_explicitly_package_free(method: Method) -> None:
    if method.name in PACKAGE_FREE:
        assert method.package is None
        assert not method.session
    else:
        assert method.package in ALL_PACKAGES, f"{method.name}: package {method.package!r}"


def test_the_not_applicable_set_names_registered_session_methods() -> None:
    by_name = {m.name: m for m in METHODS}
    for name in TENANCY_NOT_APPLICABLE:
        assert name in by_name and by_name[name].session
        assert not takes_object_id(by_name[name])


# --- 6. every method is tested elsewhere ---------------------------------------------


def test_every_method_has_a_test_elsewhere() -> None:
    sources = [
        p.read_text(encoding="utf-8")
        for folder in (TESTS / "gateway", TESTS / "compat")
        for p in sorted(folder.rglob("*.py"))
        if p.name != Path(__file__).name
    ]
    untested = [m.name for m in METHODS if not any(m.name in text for text in sources)]
    assert untested == []


# --- 2-5. the matrix through /router/rest ------------------------------------------


@pytest.fixture
async def mw(db: Database) -> MatrixWorld:
    return await make_matrix_world(db)


async def check_anonymous(client: httpx.AsyncClient, w: MatrixWorld, method: Method) -> None:
    # given: an app holding every package; when: the method is called without a session
    before = await counts(w.db)
    response = await call(client, w, method)
    # then: 26, nothing changed
    assert error_of(response)["code"] == 26, (method.name, response.text)
    assert await counts(w.db) == before, method.name


async def check_without_package(client: httpx.AsyncClient, w: MatrixWorld, method: Method) -> None:
    # given: an app holding every package except the method's, and the owner's session on it
    assert method.package is not None
    owner = w.owner(method, app=f"without:{method.package}")
    before = await counts(w.db)
    # when
    response = await call(client, w, method, as_app=f"without:{method.package}", token=owner)
    # then: 11 with a package sub-code, nothing changed
    err = error_of(response)
    assert err["code"] == 11, (method.name, err)
    assert err["sub_code"] in (
        "isv.permission-api-package-not-allowed",
        "isv.permission-api-package-empty",
    ), (method.name, err)
    assert await counts(w.db) == before, method.name


async def check_wrong_role(client: httpx.AsyncClient, w: MatrixWorld, method: Method) -> None:
    # given: a buyer on a seller method, a seller-only user on a buyer method
    intruder = w.tokens["buyer_c"] if method.role == "seller" else w.tokens["seller_only"]
    before = await counts(w.db)
    # when
    response = await call(client, w, method, token=intruder)
    # then: 42 with isv.user-not-<role>, nothing changed
    err = error_of(response)
    assert err["code"] == 42, (method.name, err)
    assert err["sub_code"] == f"isv.user-not-{method.role}", (method.name, err)
    assert await counts(w.db) == before, method.name


TENANCY_ERRORS = {15, 41, 11}


async def check_tenancy(client: httpx.AsyncClient, w: MatrixWorld, method: Method) -> None:
    # given: A's object ids in the parameters; other users of the method's role
    intruders = {"seller": ["seller_b"], "buyer": ["buyer_d"], "any": ["seller_b", "buyer_d"]}
    for who in intruders[method.role]:
        before = await counts(w.db)
        # when: the intruder asks for (or acts on) A's objects
        response = await call(client, w, method, token=w.tokens[who])
        # then: an error (15 isv.*, 41, or 11 isv.permission-denied) or an answer without
        # any of A's data; and nothing changed
        body = body_of(response)
        if "error_response" in body:
            err = body["error_response"]
            assert err["code"] in TENANCY_ERRORS, (method.name, who, err)
            if err["code"] == 15:
                assert str(err.get("sub_code", "")).startswith("isv."), (method.name, who, err)
            if err["code"] == 11:
                assert err.get("sub_code") == "isv.permission-denied", (method.name, who, err)
        assert leaks(w, response) == [], (method.name, who, response.text)
        assert await counts(w.db) == before, (method.name, who)


async def check_owner_passes(client: httpx.AsyncClient, w: MatrixWorld, method: Method) -> None:
    # given: the rightful owner's session on an app holding every package
    token = w.owner(method, app="full") if method.session else None
    # when: the same call
    response = await call(client, w, method, token=token)
    # then: no authorization or parameter error — the denials above came from authorization
    body = body_of(response)
    if "error_response" in body:
        err = body["error_response"]
        assert err["code"] == 15, (method.name, err)
        assert method.name in OWNER_MAY_FAIL, (method.name, err)


# Methods whose owner call fails on a business rule of this world (code 15), with why.
OWNER_MAY_FAIL = {
    "taobao.top.auth.token.create": "the code is made up: there is no OAuth grant",
    "taobao.top.auth.token.refresh": "the refresh token is made up",
}


@pytest.mark.parametrize("method", METHODS, ids=lambda m: m.name)
async def test_matrix(client: httpx.AsyncClient, mw: MatrixWorld, method: Method) -> None:
    if method.session:
        await check_anonymous(client, mw, method)
    if method.package is not None:
        await check_without_package(client, mw, method)
    if method.role != "any":
        await check_wrong_role(client, mw, method)
    if method.session and method.name not in TENANCY_NOT_APPLICABLE:
        await check_tenancy(client, mw, method)
    await check_owner_passes(client, mw, method)
