"""The gateway's cache of apps and sessions never outlives a change made in the serving
process: each test warms the cache with a successful call, changes something through the
domain services, and the very next call sees the change."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.developer import service as dev
from mercato.kit.db import Database
from mercato.models import App, User
from mercato.oauth import service as oauth
from tests.factories.gateway import SERVER_SECRET
from tests.gateway.conftest import World, error_of, signed, system

SELLER = "mercato.test.seller.echo"


async def _call(
    client: httpx.AsyncClient, world: World, secret: str | None = None
) -> httpx.Response:
    params = system(world, SELLER, session=world.seller_token, title="t")
    return await client.post("/router/rest", data=signed(params, secret or world.secret))


async def _seller(session: AsyncSession, world: World) -> User:
    seller = await session.get(User, world.app.owner_id)  # the app's owner sells
    assert seller is not None
    return seller


async def _app(session: AsyncSession, world: World) -> App:
    app = await session.get(App, world.app.id)
    assert app is not None
    return app


async def _warm(client: httpx.AsyncClient, world: World) -> None:
    response = await _call(client, world)
    assert "error_response" not in response.json(), response.text


async def test_revocation_ends_a_cached_session_at_once(
    client: httpx.AsyncClient, world: World, db: Database
) -> None:
    await _warm(client, world)
    async with db.write() as session:
        await oauth.revoke(session, await _seller(session, world), world.app.id)
    assert error_of(await _call(client, world))["code"] == 27


async def test_rotation_ends_a_cached_secret_at_once(
    client: httpx.AsyncClient, world: World, db: Database
) -> None:
    await _warm(client, world)
    async with db.write() as session:
        app = await _app(session, world)
        new_secret = await dev.rotate_secret(session, app, server_secret=SERVER_SECRET)
    assert error_of(await _call(client, world))["code"] == 25
    assert "error_response" not in (await _call(client, world, new_secret)).json()


async def test_removed_package_is_refused_at_once(
    client: httpx.AsyncClient, world: World, db: Database
) -> None:
    await _warm(client, world)
    async with db.write() as session:
        await dev.set_packages(session, await _app(session, world), ["trades-read"])
    assert (
        error_of(await _call(client, world))["sub_code"] == "isv.permission-api-package-not-allowed"
    )


async def test_suspension_ends_a_cached_session_at_once(
    client: httpx.AsyncClient, world: World, db: Database
) -> None:
    await _warm(client, world)
    async with db.write() as session:  # a bulk UPDATE, not a flushed object
        suspend = update(User).where(User.id == world.app.owner_id).values(status="suspended")
        await session.execute(suspend)
    assert error_of(await _call(client, world))["code"] == 27


async def test_lost_role_is_refused_at_once(
    client: httpx.AsyncClient, world: World, db: Database
) -> None:
    await _warm(client, world)
    async with db.write() as session:
        seller = await _seller(session, world)
        for role in [r for r in seller.roles if r.role == "seller"]:
            await session.delete(role)
    assert error_of(await _call(client, world))["code"] == 42


async def test_no_cache_when_its_lifetime_is_zero(
    client: httpx.AsyncClient, world: World, db: Database, app: Any
) -> None:
    app.state.settings.gateway_auth_cache_s = 0
    await _warm(client, world)
    assert db.caches["gateway.apps"].get(world.key) is None
