"""Sign-up, sign-in and sign-out pages: validation, sessions, CSRF, redirects."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from mercato.kit.db import Database
from mercato.models import User, WebSession
from mercato.web.deps import SESSION_COOKIE
from tests.factories.accounts import PASSWORD
from tests.web.conftest import Browser, NewBrowser


async def users(db: Database) -> int:
    async with db.read() as session:
        return int(await session.scalar(select(func.count()).select_from(User)) or 0)


class TestSignUp:
    @pytest.mark.parametrize(
        ("form", "message"),
        [
            ({"nick": "x", "password": PASSWORD, "password2": PASSWORD}, "at least 2"),
            ({"nick": "ok_nick", "password": "short", "password2": "short"}, "at least 8"),
            ({"nick": "ok_nick", "password": PASSWORD, "password2": "other pw!"}, "differ"),
            ({"nick": "bad nick!", "password": PASSWORD, "password2": PASSWORD}, "letters"),
        ],
    )
    async def test_bad_forms_show_inline_errors_and_create_nobody(
        self, anon: Browser, db: Database, form: dict[str, str], message: str
    ) -> None:
        await anon.get("/signup")
        response = await anon.post("/signup", form)
        assert response.status_code == 422
        assert message in response.text
        assert 'class="error"' in response.text
        assert await users(db) == 0

    async def test_taken_nick(self, new_browser: NewBrowser, db: Database) -> None:
        await (await new_browser()).sign_up("taken")
        other = await new_browser()
        await other.get("/signup")
        form = {"nick": "TAKEN", "password": PASSWORD, "password2": PASSWORD}
        response = await other.post("/signup", form)
        assert response.status_code == 422 and "taken" in response.text
        assert await users(db) == 1

    async def test_session_cookie_is_http_only(self, anon: Browser) -> None:
        await anon.get("/signup")
        form = {"nick": "cookie_check", "password": PASSWORD, "password2": PASSWORD}
        response = await anon.post("/signup", form)
        cookie = response.headers["set-cookie"]
        assert cookie.startswith(SESSION_COOKIE) and "HttpOnly" in cookie
        assert "samesite=lax" in cookie.lower()


class TestSignIn:
    async def test_wrong_password_is_refused(self, new_browser: NewBrowser) -> None:
        await (await new_browser()).sign_up("gina")
        other = await new_browser()
        await other.get("/login")
        response = await other.post("/login", {"nick": "gina", "password": "nope nope"})
        assert response.status_code == 400
        assert SESSION_COOKIE not in response.headers.get("set-cookie", "")

    @pytest.mark.parametrize(
        ("target", "landing"),
        [("/search?q=x", "/search?q=x"), ("//evil.example/", "/"), ("https://evil.example", "/")],
    )
    async def test_redirects_only_to_local_paths(
        self, new_browser: NewBrowser, target: str, landing: str
    ) -> None:
        await (await new_browser()).sign_up("henry")
        other = await new_browser()
        await other.get("/login")
        form = {"nick": "henry", "password": PASSWORD, "next": target}
        response = await other.post("/login", form)
        assert response.status_code == 303
        assert response.headers["location"] == landing

    async def test_sign_out_ends_the_session_for_good(self, anon: Browser, db: Database) -> None:
        await anon.sign_up("ivy")
        old_cookie = anon.client.cookies[SESSION_COOKIE]
        await anon.get("/")
        assert (await anon.post("/logout")).status_code == 303
        async with db.read() as session:
            assert await session.scalar(select(func.count()).select_from(WebSession)) == 0
        anon.client.cookies.set(SESSION_COOKIE, old_cookie)
        page = await anon.get("/")
        assert "ivy" not in page.text

    async def test_protected_page_sends_strangers_to_sign_in(self, anon: Browser) -> None:
        response = await anon.get("/seller")
        assert response.status_code == 303
        assert response.headers["location"].startswith("/login?next=/seller")

    async def test_a_signed_out_form_post_returns_to_the_page_it_came_from(
        self, anon: Browser
    ) -> None:
        await anon.get("/")
        headers = {"referer": "http://testserver/item/7"}
        response = await anon.post("/cart/1/update", {"quantity": "2"}, headers=headers)
        assert response.status_code == 303
        assert response.headers["location"] == "/login?next=/item/7"
        elsewhere = {"referer": "https://evil.example/x"}
        response = await anon.post("/cart/1/update", {"quantity": "2"}, headers=elsewhere)
        assert response.headers["location"] == "/login?next=/"


class TestCsrf:
    async def test_post_without_token_is_forbidden_and_changes_nothing(
        self, anon: Browser, db: Database
    ) -> None:
        await anon.get("/signup")
        form = {"nick": "forged", "password": PASSWORD, "password2": PASSWORD}
        response = await anon.post("/signup", form, csrf=False)
        assert response.status_code == 403
        assert await users(db) == 0

    async def test_token_from_another_browser_is_refused(
        self, new_browser: NewBrowser, db: Database
    ) -> None:
        victim, attacker = await new_browser(), await new_browser()
        await victim.get("/signup")
        await attacker.get("/signup")
        attacker.token = "0" * 64
        form = {"nick": "forged2", "password": PASSWORD, "password2": PASSWORD}
        assert (await attacker.post("/signup", form)).status_code == 403
        assert await users(db) == 0


class TestBadIds:
    @pytest.mark.parametrize(
        "path", ["/item/abc", "/item/0", "/item/99999999999999999999", "/shop/-1", "/shop/x"]
    )
    async def test_malformed_public_ids_are_not_found(self, anon: Browser, path: str) -> None:
        response = await anon.get(path)
        assert response.status_code == 404
        assert "<html" in response.text

    async def test_malformed_seller_ids_are_not_found(self, seller: Browser) -> None:
        response = await seller.get("/seller/items/abc/edit")
        assert response.status_code == 404
        assert (await seller.post("/seller/items/99999999999999999999/delete")).status_code == 404
