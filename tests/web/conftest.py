"""Web fixtures: the whole app on a migrated temporary SQLite file, and a small browser that
signs up, keeps cookies and puts the CSRF token into every form it posts."""

from __future__ import annotations

import re
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable
from io import BytesIO
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from PIL import Image
from sqlalchemy import select

from mercato.app import create_app
from mercato.catalog import service as catalog
from mercato.catalog.schemas import ItemInput
from mercato.config import Settings
from mercato.kit.db import Database
from mercato.models import Item, Shop, User
from mercato.shops import service as shops
from mercato.shops.schemas import ShopInput
from tests.factories.accounts import PASSWORD, make_user
from tests.factories.catalog import CatalogTree, make_catalog

NewBrowser = Callable[[], Awaitable["Browser"]]
_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


class Browser:
    """An httpx client that behaves like a person's browser: it keeps cookies and sends
    the CSRF token that the pages it loaded carry."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client
        self.token = ""

    async def get(self, url: str, **kwargs: Any) -> httpx.Response:
        response = await self.client.get(url, **kwargs)
        match = _TOKEN.search(response.text)
        if match:
            self.token = match[1]
        return response

    async def post(
        self, url: str, data: dict[str, Any] | None = None, *, csrf: bool = True, **kwargs: Any
    ) -> httpx.Response:
        if not self.token:
            await self.get("/login")
        form = dict(data or {})
        if csrf:
            form["csrf_token"] = self.token
        return await self.client.post(url, data=form, **kwargs)

    async def sign_up(self, nick: str) -> None:
        await self.get("/signup")
        response = await self.post(
            "/signup", {"nick": nick, "password": PASSWORD, "password2": PASSWORD}
        )
        assert response.status_code == 303, response.text

    async def sign_in(self, nick: str) -> None:
        await self.get("/login")
        response = await self.post("/login", {"nick": nick, "password": PASSWORD})
        assert response.status_code == 303, response.text

    async def open_shop(self, title: str) -> None:
        response = await self.post("/seller/shop/open", {"title": title})
        assert response.status_code == 303, response.text


@pytest.fixture
async def app(tmp_path: Path, sqlite_template: Path) -> AsyncIterator[FastAPI]:
    """The app on a copy of the migrated template database (migrating each time is slow)."""
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    shutil.copyfile(sqlite_template, data_dir / "mercato.db")
    application = create_app(Settings(data_dir=data_dir, secret_key="test-secret-key"))
    # ASGITransport does not run the lifespan, which opens the database.
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
def db(app: FastAPI) -> Database:
    database: Database = app.state.db
    return database


@pytest.fixture
async def new_browser(app: FastAPI) -> AsyncIterator[NewBrowser]:
    clients: list[httpx.AsyncClient] = []

    async def make() -> Browser:
        client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://testserver"
        )
        clients.append(client)
        return Browser(client)

    yield make
    for client in clients:
        await client.aclose()


@pytest.fixture
async def anon(new_browser: NewBrowser) -> Browser:
    return await new_browser()


@pytest.fixture
async def seller(new_browser: NewBrowser) -> Browser:
    """A signed-in seller, "alice", whose shop is "Alice 小铺"."""
    browser = await new_browser()
    await browser.sign_up("alice")
    await browser.open_shop("Alice 小铺")
    return browser


@pytest.fixture
async def tree(db: Database) -> CatalogTree:
    async with db.write() as session:
        return await make_catalog(session)


async def user_named(db: Database, nick: str) -> User:
    async with db.read() as session:
        user = await session.scalar(select(User).where(User.nick == nick))
    assert user is not None
    return user


async def shop_of(db: Database, nick: str) -> Shop:
    async with db.read() as session:
        return await shops.my_shop(session, await user_named(db, nick))


async def add_item(db: Database, nick: str, data: ItemInput) -> Item:
    """An item made through the catalog service, as seller ``nick``."""
    seller = await user_named(db, nick)
    async with db.write() as session:
        return await catalog.create_item(session, seller, data)


async def make_shop(db: Database, nick: str, title: str) -> None:
    """A seller made through the services, for tests that need a second shop."""
    async with db.write() as session:
        user = await make_user(session, nick)
        await shops.open_shop(session, user, ShopInput(title=title))


def png(width: int = 8, height: int = 8, color: str = "red") -> bytes:
    out = BytesIO()
    Image.new("RGB", (width, height), color).save(out, format="PNG")
    return out.getvalue()


def sku_key(tree: CatalogTree, color: str, size: str) -> str:
    """A dress SKU's properties as the service stores them: sorted by pid."""
    pairs = [
        (tree.color.id, tree.vid(tree.color, color)),
        (tree.size.id, tree.vid(tree.size, size)),
    ]
    return ";".join(f"{pid}:{vid}" for pid, vid in sorted(pairs))
