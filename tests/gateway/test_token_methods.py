"""``taobao.top.auth.token.create`` / ``.refresh`` (TOP-PROTOCOL.md §7.4): an authorization
code from the OAuth pages, exchanged through the router by the app that got it."""

from __future__ import annotations

import json

import httpx
from sqlalchemy import select

from mercato.kit.db import Database
from mercato.models import User
from mercato.oauth import service as oauth
from tests.gateway.conftest import World, error_of, style_a, system


async def _code(db: Database, world: World) -> str:
    async with db.write() as session:
        app = await session.merge(world.app)
        seller = await session.scalar(select(User).where(User.nick == "gw_seller"))
        assert seller is not None
        await oauth.authorize(session, app, seller)
        return await oauth.create_code(session, app, seller, redirect_uri="https://isv.example/cb")


async def test_a_code_becomes_a_token_once(
    client: httpx.AsyncClient, db: Database, world: World
) -> None:
    # given a code the seller granted the app
    code = await _code(db, world)
    call = system(world, "taobao.top.auth.token.create")
    # when the app exchanges it through the router
    response = await style_a(client, world, call, {"code": code})
    # then token_result is a JSON string with TOP's token fields, for the seller
    result = response.json()["top_auth_token_create_response"]["token_result"]
    assert isinstance(result, str)
    token = json.loads(result)
    assert token["token_type"] == "Bearer" and token["taobao_user_nick"] == "gw_seller"
    assert isinstance(token["taobao_user_id"], str)
    async with db.read() as session:
        resolved = await oauth.resolve_session(session, token["access_token"])
    assert resolved is not None and resolved[1].id == world.app.id
    # and the same code again is refused as a business error
    again = error_of(await style_a(client, world, call, {"code": code}))
    assert (again["code"], again["sub_code"]) == (15, "isv.invalid_client")


async def test_missing_code_and_refusing_refresh_for_a_seller_tool(
    client: httpx.AsyncClient, world: World
) -> None:
    missing = error_of(
        await style_a(client, world, system(world, "taobao.top.auth.token.create"), {})
    )
    assert (missing["code"], missing["sub_code"]) == (40, "isv.missing-parameter:code")
    call = system(world, "taobao.top.auth.token.refresh")
    refused = error_of(await style_a(client, world, call, {"refresh_token": "nope"}))
    assert (refused["code"], refused["sub_code"]) == (15, "isv.invalid_grant")
