"""Gateway fixtures: the whole app on a copy of the migrated SQLite template, a seller and a
buyer with tokens on one app, test-only methods in the registry, and a TOP client that signs
like the two client styles of TOP-PROTOCOL.md §2.1."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from pydantic import Field

from mercato.app import create_app
from mercato.config import Settings
from mercato.gateway import envelope, signing
from mercato.gateway.context import CallContext
from mercato.gateway.registry import REGISTRY, Method, NoParams, TopParams
from mercato.kit.clock import utcnow
from mercato.kit.db import Database
from mercato.kit.errors import Conflict, NotFound, ValidationFailed
from mercato.logistics.carriers import ensure_carriers
from mercato.models import App, Role
from tests.conftest import truncate_all
from tests.factories.accounts import make_user
from tests.factories.gateway import SERVER_SECRET, make_app, make_token


@pytest.fixture
async def app(tmp_path: Path, database_url: str) -> AsyncIterator[FastAPI]:
    """The whole app on this run's backends (SQLite, and PostgreSQL when
    ``MERCATO_TEST_DATABASE_URL`` is set), emptied, with the reference carriers."""
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    settings = Settings(
        data_dir=data_dir, database_url=database_url, secret_key=SERVER_SECRET, run_jobs=False
    )
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        database: Database = application.state.db
        if not database.is_sqlite:
            await truncate_all(database)
            async with database.write() as session:
                await ensure_carriers(session)
        yield application


@pytest.fixture
def db(app: FastAPI) -> Database:
    database: Database = app.state.db
    return database


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, client=("10.1.2.3", 5555))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


# --- test-only methods ---------------------------------------------------------------


class EchoParams(TopParams):
    title: str
    num: int = Field(default=1, ge=1, le=999)
    state: str | None = Field(default=None, alias="location.state")
    flag: bool = False


async def _echo(ctx: CallContext, params: EchoParams) -> dict[str, Any]:
    assert ctx.user is not None
    if params.title == "missing":
        raise NotFound("no such item", code="item_not_found")
    if params.title == "shipped":
        raise Conflict("the trade was shipped", code="trade_status_invalid")
    if params.title == "bad":
        raise ValidationFailed.one("title", "format", "not a title")
    return {
        "nick": ctx.user.nick,
        "title": params.title,
        "num": params.num,
        "state": params.state,
        "flag": params.flag,
        "total_results": 1,
        "items": [
            {
                "num_iid": 42,
                "price": envelope.Fen(20007),
                "created": datetime(2026, 1, 1, 4, 0, 0, tzinfo=UTC),
                "title": "<a&b>",
            }
        ],
        "tags": ["x", "y"],
    }


async def _boom(ctx: CallContext, params: NoParams) -> dict[str, Any]:
    raise RuntimeError("secret internals")


ECHO = Method(
    name="mercato.test.seller.echo",
    params=EchoParams,
    handler=_echo,
    package="items-read",
    session=True,
    role="seller",
    lists={"items": "item", "tags": "string"},
    description="test method",
)
BUYER_ECHO = Method(
    name="mercato.test.buyer.echo",
    params=EchoParams,
    handler=_echo,
    package="trades-read",
    session=True,
    role="buyer",
)
WRITE_ECHO = Method(
    name="mercato.test.items.write",
    params=EchoParams,
    handler=_echo,
    package="items-write",
    session=True,
    role="seller",
    write=True,
)
BOOM = Method(name="mercato.test.boom", params=NoParams, handler=_boom, package=None)


@pytest.fixture(autouse=True)
def test_methods() -> Iterator[None]:
    with REGISTRY.temporarily(ECHO, BUYER_ECHO, WRITE_ECHO, BOOM):
        yield


# --- a world: one app, a seller and a buyer with tokens -----------------------------


@dataclass
class World:
    app: App
    secret: str
    seller_token: str
    buyer_token: str
    other_app: App
    other_secret: str
    other_token: str  # the seller's token on other_app

    @property
    def key(self) -> str:
        return self.app.app_key


@pytest.fixture
async def world(db: Database) -> World:
    async with db.write() as session:
        seller = await make_user(session, "gw_seller", {Role.seller})
        buyer = await make_user(session, "gw_buyer")
        app, secret = await make_app(session, seller)
        other, other_secret = await make_app(session, buyer)
        return World(
            app=app,
            secret=secret,
            seller_token=await make_token(session, app, seller),
            buyer_token=await make_token(session, app, buyer),
            other_app=other,
            other_secret=other_secret,
            other_token=await make_token(session, other, seller),
        )


def now_ms() -> str:
    return str(int(utcnow().timestamp() * 1000))


def now_gmt8() -> str:
    return envelope.top_datetime(utcnow())


def system(
    world: World,
    method: str,
    *,
    sign_method: str = "md5",
    session: str | None = None,
    timestamp: str | None = None,
    fmt: str = "json",
    **extra: str,
) -> dict[str, str]:
    params = {
        "method": method,
        "app_key": world.key,
        "sign_method": sign_method,
        "timestamp": timestamp if timestamp is not None else now_ms(),
        "v": "2.0",
        "format": fmt,
        "partner_id": "tbk-sdk-python-20220112",
    }
    if session is not None:
        params["session"] = session
    params.update(extra)
    return params


def signed(params: dict[str, str], secret: str, sign_method: str | None = None) -> dict[str, str]:
    out = dict(params)
    out["sign"] = signing.sign(out, secret, sign_method or out.get("sign_method") or "md5")
    return out


async def style_a(
    client: httpx.AsyncClient, world: World, sys_params: dict[str, str], business: dict[str, str]
) -> httpx.Response:
    """Official SDK: system params in the query, business params in the body, md5."""
    sign = signing.sign(
        {**sys_params, **business}, world.secret, sys_params.get("sign_method") or "md5"
    )
    return await client.post(
        "/router/rest",
        params={**sys_params, "sign": sign},
        data=business,
        headers={"Content-Type": "application/x-www-form-urlencoded;charset=UTF-8"},
    )


async def style_b(
    client: httpx.AsyncClient, world: World, sys_params: dict[str, str], business: dict[str, str]
) -> httpx.Response:
    """All-in-body client."""
    return await client.post("/router/rest", data=signed({**sys_params, **business}, world.secret))


def error_of(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    if response.headers["content-type"].startswith("text/xml"):
        root = ET.fromstring(response.content)
        assert root.tag == "error_response", response.text
        xml_err: dict[str, Any] = {e.tag: e.text for e in root}
        xml_err["code"] = int(xml_err["code"])
        return xml_err
    body = response.json()
    assert "error_response" in body, body
    err: dict[str, Any] = body["error_response"]
    assert err["request_id"]
    return err
