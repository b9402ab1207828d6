"""The developer console's API explorer: calls are signed on the server and sent through the
real gateway (so TOP's errors come back as it answers them and the call log counts them),
only my apps can be chosen, a session is only ever made for a user who authorized the app,
and the app's secret never appears in a page."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from urllib.parse import parse_qsl

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from mercato.accounts import service as accounts
from mercato.gateway import signing
from mercato.kit.db import Database
from mercato.models import AccessToken, ApiCall, App, Role
from mercato.oauth import service as oauth
from tests.factories.gateway import SERVER_SECRET, make_app
from tests.web.conftest import Browser, NewBrowser, user_named

SECRET = "explorer-secret-5f0c1d2e3a4b6978"
PACKAGES = ("users", "items-read")
_RAW = re.compile(
    r'<pre class="explorer-raw raw-(request|response)"><code>(.*?)</code></pre>', re.S
)
PARAM = "p:"  # the form names of business parameters
_TOKEN = re.compile(r'name="explorer_token" value="([^"]+)"')


@dataclass(frozen=True)
class Raw:
    """The request and response the page shows, unescaped."""

    params: dict[str, str]
    request_head: str
    response_head: str
    response_body: str


def raw_of(page: str) -> Raw:
    found = {kind: html.unescape(text) for kind, text in _RAW.findall(page)}
    request_head, _, body = found["request"].partition("\n\n")
    response_head, _, response_body = found["response"].partition("\n\n")
    return Raw(dict(parse_qsl(body)), request_head, response_head, response_body)


async def _developer(new_browser: NewBrowser, db: Database, nick: str) -> Browser:
    browser = await new_browser()
    await browser.sign_up(nick)
    async with db.write() as session:
        user = await session.merge(await user_named(db, nick))
        await accounts.grant_role(session, user, Role.developer)
    return browser


async def _app(db: Database, nick: str, packages: tuple[str, ...] = PACKAGES) -> int:
    async with db.write() as session:
        app, _ = await make_app(
            session, await user_named(db, nick), packages=packages, secret=SECRET
        )
    return app.id


@pytest.fixture
async def dev(new_browser: NewBrowser, db: Database) -> Browser:
    """A signed-in developer, "devon"."""
    return await _developer(new_browser, db, "devon")


@pytest.fixture
async def app_id(dev: Browser, db: Database) -> int:
    """Devon's app (packages users and items-read), its secret ``SECRET``."""
    return await _app(db, "devon")


async def _authorize(db: Database, app_id: int, nick: str) -> str:
    """``nick`` authorizes the app through OAuth; the app's token for them."""
    async with db.write() as session:
        user = await user_named(db, nick)
        app = await session.get_one(App, app_id)
        token = await oauth.issue_token_for(session, app, user, server_secret=SERVER_SECRET)
    return str(token["access_token"])


async def _call(browser: Browser, app_id: int, api: str, **fields: str) -> httpx.Response:
    """Post the explorer's form: ``api`` with ``fields`` (business ones as ``PARAM + name``)."""
    form = {
        "app": str(app_id),
        "method": api,
        "sign_method": "md5",
        "format": "json",
        "session_mode": "none",
    }
    form.update(fields)
    response = await browser.post("/developer/explorer", form)
    assert SECRET not in response.text
    return response


async def _call_as(
    browser: Browser, app_id: int, api: str, user_id: int, **params: str
) -> httpx.Response:
    """``api`` as the user ``user_id`` (chosen from the app's authorizations), with these
    business parameters."""
    fields = {PARAM + name: value for name, value in params.items()}
    return await _call(
        browser, app_id, api, session_mode="user", session_user=str(user_id), **fields
    )


async def _count(db: Database, model: type, **where: int) -> int:
    async with db.read() as session:
        query = select(func.count()).select_from(model).filter_by(**where)
        return int(await session.scalar(query) or 0)


class TestCalls:
    async def test_time_get_without_session(self, dev: Browser, app_id: int) -> None:
        # given the form for taobao.time.get
        form = await dev.get("/developer/explorer?method=taobao.time.get")
        assert form.status_code == 200 and 'name="sign_method"' in form.text
        assert SECRET not in form.text
        # when devon sends it
        response = await _call(dev, app_id, "taobao.time.get")
        # then the raw request carries every parameter, signed, and the gateway answered
        assert response.status_code == 200, response.text
        raw = raw_of(response.text)
        assert raw.request_head.startswith("POST /router/rest HTTP/1.1")
        assert "application/x-www-form-urlencoded" in raw.request_head
        assert {"method", "app_key", "timestamp", "format", "v", "sign_method", "sign"} <= set(
            raw.params
        )
        assert "session" not in raw.params
        assert raw.response_head.startswith("HTTP/1.1 200")
        assert "application/json" in raw.response_head
        assert '"time_get_response": {' in raw.response_body  # pretty-printed
        assert "error_response" not in raw.response_body

    async def test_hmac_sha256_and_xml(self, dev: Browser, app_id: int) -> None:
        response = await _call(
            dev, app_id, "taobao.time.get", sign_method="hmac-sha256", format="xml"
        )
        raw = raw_of(response.text)
        assert raw.params["sign_method"] == "hmac-sha256" and len(raw.params["sign"]) == 64
        assert raw.params["sign"] == signing.sign(raw.params, SECRET, "hmac-sha256")
        assert "text/xml" in raw.response_head
        assert "<time_get_response>" in raw.response_body
        assert "error_response" not in raw.response_body

    async def test_a_user_who_authorized_the_app(
        self, dev: Browser, app_id: int, seller: Browser, db: Database, app: FastAPI
    ) -> None:
        # given alice (a seller) authorized devon's app, which holds a token for her
        alice = await user_named(db, "alice")
        apps_token = await _authorize(db, app_id, "alice")
        offered = await dev.get(f"/developer/explorer?app={app_id}&method=taobao.user.seller.get")
        assert f'<option value="{alice.id}"' in offered.text
        # when devon calls as her
        response = await _call_as(
            dev, app_id, "taobao.user.seller.get", alice.id, fields="nick,user_id"
        )
        # then the gateway answered with her data
        raw = raw_of(response.text)
        assert '"nick": "alice"' in raw.response_body, raw.response_body
        assert f'"user_id": {alice.id}' in raw.response_body
        # the key is shown masked, kept in the page for the next call and not cached
        key = _TOKEN.search(response.text)
        assert key and key[1] not in raw.params["session"] and "****" in raw.params["session"]
        assert response.headers["cache-control"] == "no-store"
        # a second call reuses it, and the app's own token still works
        again = await _call(
            dev,
            app_id,
            "taobao.user.seller.get",
            session_mode="user",
            session_user=str(alice.id),
            explorer_token=key[1],
        )
        assert _TOKEN.search(again.text)[1] == key[1]  # type: ignore[index]
        assert await _count(db, AccessToken, app_id=app_id, user_id=alice.id) == 2
        async with db.read() as session:
            assert await oauth.resolve_session(session, apps_token) is not None
        # and the calls are in the call log and the statistics
        await app.state.call_log.flush()
        assert await _count(db, ApiCall, app_id=app_id) == 2
        stats = await dev.get(f"/developer/apps/{app_id}/calls")
        assert "taobao.user.seller.get" in stats.text
        assert '<strong class="total-calls">2</strong>' in stats.text

    async def test_a_pasted_session_key(
        self, dev: Browser, app_id: int, seller: Browser, db: Database
    ) -> None:
        token = await _authorize(db, app_id, "alice")
        response = await _call(
            dev,
            app_id,
            "taobao.user.seller.get",
            session_mode="key",
            session_key=token,
            **{PARAM + "fields": "nick"},
        )
        raw = raw_of(response.text)
        assert '"nick": "alice"' in raw.response_body
        assert token not in raw.params["session"]


class TestGatewayErrors:
    """TOP errors are shown as the gateway answered them (HTTP 200, error_response)."""

    async def test_missing_business_parameter_is_code_40(
        self, dev: Browser, app_id: int, seller: Browser, db: Database
    ) -> None:
        alice = await user_named(db, "alice")
        await _authorize(db, app_id, "alice")
        response = await _call_as(dev, app_id, "taobao.item.seller.get", alice.id, fields="title")
        assert response.status_code == 200
        raw = raw_of(response.text)
        assert "num_iid" not in raw.params  # left empty: not sent
        assert '"error_response"' in raw.response_body and '"code": 40' in raw.response_body
        assert "missing-parameter:num_iid" in raw.response_body

    async def test_invalid_business_parameter_is_code_41(
        self, dev: Browser, app_id: int, seller: Browser, db: Database
    ) -> None:
        alice = await user_named(db, "alice")
        await _authorize(db, app_id, "alice")
        response = await _call_as(
            dev, app_id, "taobao.items.onsale.get", alice.id, fields="num_iid", page_size="many"
        )
        body = raw_of(response.text).response_body
        assert '"code": 41' in body and "page_size" in body

    async def test_missing_package_is_code_11(
        self, dev: Browser, db: Database, seller: Browser
    ) -> None:
        app_id = await _app(db, "devon", packages=("items-read",))
        response = await _call(dev, app_id, "taobao.user.seller.get", **{PARAM + "fields": "nick"})
        body = raw_of(response.text).response_body
        assert '"code": 11' in body and "permission-api-package-not-allowed" in body


class TestRefusals:
    async def test_another_developers_app_is_not_found(
        self, dev: Browser, app_id: int, new_browser: NewBrowser, db: Database
    ) -> None:
        bob = await _developer(new_browser, db, "bob")
        await _app(db, "bob")
        assert (await bob.get(f"/developer/explorer?app={app_id}")).status_code == 404
        response = await _call(bob, app_id, "taobao.time.get")
        assert response.status_code == 404
        assert f"app={app_id}" not in (await bob.get("/developer/explorer")).text

    async def test_a_user_who_never_authorized_the_app_is_refused(
        self, dev: Browser, app_id: int, seller: Browser, db: Database, app: FastAPI
    ) -> None:
        # given alice never authorized the app, and carol revoked her authorization
        alice = await user_named(db, "alice")
        async with db.write() as session:
            carol = await accounts.sign_up(
                session, accounts.parse_sign_up("carol", "correct horse battery")
            )
        await _authorize(db, app_id, "carol")
        async with db.write() as session:
            await oauth.revoke(session, await session.merge(carol), app_id)
        page = await dev.get(f"/developer/explorer?app={app_id}&method=taobao.time.get")
        assert "alice" not in page.text and "carol" not in page.text  # not offered
        for user_id in (alice.id, carol.id):
            # when devon posts her id anyway
            response = await _call_as(dev, app_id, "taobao.user.seller.get", user_id, fields="nick")
            # then it is refused inline: no token made, no call sent
            assert response.status_code == 422, response.text
            assert "not authorized the app" in response.text
            assert "raw-response" not in response.text
        assert await _count(db, AccessToken, app_id=app_id, user_id=alice.id) == 0
        assert await _count(db, AccessToken, app_id=app_id, user_id=carol.id) == 1  # revoked
        await app.state.call_log.flush()
        assert await _count(db, ApiCall, app_id=app_id) == 0

    async def test_csrf_is_enforced(self, dev: Browser, app_id: int) -> None:
        form = {"app": str(app_id), "method": "taobao.time.get", "session_mode": "none"}
        response = await dev.post("/developer/explorer", form, csrf=False)
        assert response.status_code == 403

    async def test_a_non_developer_is_refused(
        self, seller: Browser, anon: Browser, dev: Browser
    ) -> None:
        assert (await seller.get("/developer/explorer")).status_code == 403
        response = await _call(seller, 1, "taobao.time.get")
        assert response.status_code == 403
        assert (await anon.get("/developer/explorer")).status_code == 303

    @pytest.mark.parametrize(
        ("changes", "message"),
        [
            ({"method": "taobao.no.such"}, "no method named"),
            ({"app": "abc"}, "not an app id"),
            ({"sign_method": "sha1"}, "not one of the choices"),
            ({"format": "yaml"}, "not one of the choices"),
            ({"session_mode": "user", "session_user": "x"}, "choose a user"),
            ({"session_mode": "key", "session_key": " "}, "paste a key"),
            ({"p:x": "1", "method": ""}, "choose an app and a method"),
        ],
    )
    async def test_bad_form_input_is_an_inline_message(
        self, dev: Browser, app_id: int, changes: dict[str, str], message: str
    ) -> None:
        response = await _call(dev, app_id, "taobao.time.get", **changes)
        assert response.status_code == 422, response.text
        assert message in response.text
        assert "raw-response" not in response.text

    async def test_an_unknown_method_in_the_link(self, dev: Browser, app_id: int) -> None:
        response = await dev.get("/developer/explorer?method=nope&app=x1")
        assert response.status_code == 422
        assert "no method named" in response.text and "not an app id" in response.text


class TestLinks:
    async def test_method_page_and_nav_link_to_the_explorer(
        self, dev: Browser, app_id: int
    ) -> None:
        page = (await dev.get("/developer/api/taobao.item.seller.get")).text
        assert 'href="/developer/explorer?method=taobao.item.seller.get"' in page
        assert 'href="/developer/explorer"' in page
        form = await dev.get("/developer/explorer?method=taobao.item.seller.get")
        # the method's parameters as a form, required ones marked
        assert 'name="p:fields"' in form.text and 'name="p:num_iid"' in form.text
        assert "*必填 Required" in form.text
        assert f'value="{app_id}" selected' in form.text
