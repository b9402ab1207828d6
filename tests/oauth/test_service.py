"""The OAuth service on every backend: codes, tokens, refresh, revocation, limits."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import timedelta
from urllib.parse import unquote

import pytest
from sqlalchemy import func, select

from mercato.kit import crypto
from mercato.kit.clock import clock
from mercato.kit.db import Database
from mercato.kit.errors import NotFound, PermissionDenied
from mercato.models import AccessToken, App, Authorization, OAuthCode, User
from mercato.oauth import service as oauth
from mercato.oauth.service import OAuthError
from tests.factories.accounts import make_user
from tests.factories.platform import APP_SECRET, CALLBACK, SERVER_SECRET, make_oauth_app

S = SERVER_SECRET


@pytest.fixture(autouse=True)
def _reset_clock() -> Iterator[None]:
    yield
    clock.reset()


async def _setup(db: Database, **app_kwargs: object) -> tuple[App, User]:
    async with db.write() as session:
        dev = await make_user(session, "isv_dev")
        seller = await make_user(session, "小店主")
        app = await make_oauth_app(session, dev, **app_kwargs)  # type: ignore[arg-type]
    return app, seller


async def _code(db: Database, app: App, user: User) -> str:
    async with db.write() as session:
        await oauth.authorize(session, app, user)
        return await oauth.create_code(session, app, user, redirect_uri=CALLBACK)


async def _exchange(db: Database, app: App, code: str, redirect: str = CALLBACK) -> dict:
    async with db.write() as session:
        client = await oauth.authenticate_client(session, app.app_key, APP_SECRET, server_secret=S)
        return await oauth.exchange_code(
            session, client, code, server_secret=S, redirect_uri=redirect
        )


async def _refresh(db: Database, app: App, refresh_token: str) -> dict:
    async with db.write() as session:
        client = await oauth.authenticate_client(session, app.app_key, APP_SECRET, server_secret=S)
        return await oauth.refresh(session, client, refresh_token, server_secret=S)


async def _resolve(db: Database, token: str) -> tuple[User, App] | None:
    async with db.read() as session:
        return await oauth.resolve_session(session, token)


class TestTokenFields:
    async def test_exactly_tops_fields_with_tops_types(self, db: Database) -> None:
        # given
        app, seller = await _setup(db)
        # when
        token = await _exchange(db, app, await _code(db, app, seller))
        # then
        assert set(token) == {
            "access_token", "token_type", "expires_in", "refresh_token", "re_expires_in",
            "r1_expires_in", "r2_expires_in", "w1_expires_in", "w2_expires_in",
            "r1_valid", "r2_valid", "w1_valid", "w2_valid", "expire_time",
            "refresh_token_valid_time", "taobao_user_id", "taobao_user_nick", "taobao_open_uid",
        }  # fmt: skip
        assert token["token_type"] == "Bearer"
        assert token["taobao_user_id"] == str(seller.id) and isinstance(
            token["taobao_user_id"], str
        )
        assert token["taobao_user_nick"] == "%E5%B0%8F%E5%BA%97%E4%B8%BB"
        assert unquote(token["taobao_user_nick"]) == "小店主"
        for name in ("expires_in", "re_expires_in", "r1_valid", "expire_time"):
            assert isinstance(token[name], int)
        assert token["access_token"].startswith("62") and token["access_token"].endswith(
            f"ZZ{seller.id}"
        )

    async def test_seller_tool_token_lasts_a_year_and_cannot_refresh(self, db: Database) -> None:
        app, seller = await _setup(db)
        token = await _exchange(db, app, await _code(db, app, seller))
        assert token["expires_in"] == 365 * 86400 == oauth.FIXED_TOKEN_TTL.total_seconds()
        assert token["re_expires_in"] == 0
        assert token["r1_expires_in"] == token["w2_expires_in"] == token["expires_in"]
        now_ms = token["expire_time"] - token["expires_in"] * 1000
        assert token["refresh_token_valid_time"] == now_ms
        assert token["r1_valid"] == token["w2_valid"] == token["expire_time"]

    async def test_service_market_in_development_gets_24_hours(self, db: Database) -> None:
        app, seller = await _setup(db, app_type="service_market")
        token = await _exchange(db, app, await _code(db, app, seller))
        assert token["expires_in"] == 86400
        assert token["re_expires_in"] == oauth.SERVICE_MARKET_REFRESH_TTL.total_seconds()

    async def test_open_uid_is_stable_per_app_and_differs_across_apps(self, db: Database) -> None:
        app, seller = await _setup(db)
        async with db.write() as session:
            other = await make_oauth_app(session, await session.get_one(User, app.owner_id))
            first = await oauth.issue_token_for(session, app, seller, server_secret=S)
            again = await oauth.issue_token_for(session, app, seller, server_secret=S)
            elsewhere = await oauth.issue_token_for(session, other, seller, server_secret=S)
        assert first["taobao_open_uid"] == again["taobao_open_uid"]
        assert first["taobao_open_uid"] != elsewhere["taobao_open_uid"]
        assert len(str(first["taobao_open_uid"])) == 32

    async def test_only_hashes_are_stored(self, db: Database) -> None:
        app, seller = await _setup(db)
        code = await _code(db, app, seller)
        token = await _exchange(db, app, code)
        async with db.read() as session:
            row = await session.scalar(select(AccessToken))
            code_row = await session.scalar(select(OAuthCode))
        assert row is not None and code_row is not None
        assert row.token_hash == crypto.sha256_hex(token["access_token"])
        assert row.refresh_hash == crypto.sha256_hex(token["refresh_token"])
        assert code_row.code_hash == crypto.sha256_hex(code)


class TestCodes:
    async def test_a_code_works_once(self, db: Database) -> None:
        app, seller = await _setup(db)
        code = await _code(db, app, seller)
        await _exchange(db, app, code)
        with pytest.raises(OAuthError) as caught:
            await _exchange(db, app, code)
        assert caught.value.as_dict() == {
            "error": "invalid_client",
            "error_description": f"authorize code {code} invalidate,please authorize again.",
        }

    async def test_a_code_expires_after_five_minutes(self, db: Database) -> None:
        app, seller = await _setup(db)
        code = await _code(db, app, seller)
        clock.advance(timedelta(minutes=5, seconds=1))
        with pytest.raises(OAuthError, match="invalidate,please authorize again"):
            await _exchange(db, app, code)

    async def test_a_code_just_before_expiry_works(self, db: Database) -> None:
        app, seller = await _setup(db)
        code = await _code(db, app, seller)
        clock.advance(timedelta(minutes=4, seconds=50))
        assert (await _exchange(db, app, code))["access_token"]

    async def test_the_redirect_uri_must_be_the_codes(self, db: Database) -> None:
        app, seller = await _setup(db)
        code = await _code(db, app, seller)
        with pytest.raises(OAuthError, match="can not match the redirect_uri"):
            await _exchange(db, app, code, redirect=CALLBACK + "/")
        assert (await _exchange(db, app, code))["access_token"]  # not spent by the failure

    async def test_another_apps_code_is_unknown(self, db: Database) -> None:
        app, seller = await _setup(db)
        async with db.write() as session:
            other = await make_oauth_app(session, await session.get_one(User, app.owner_id))
        code = await _code(db, app, seller)
        with pytest.raises(OAuthError, match="invalidate"):
            await _exchange(db, other, code)

    async def test_a_code_is_spent_once_under_concurrency(self, db: Database) -> None:
        app, seller = await _setup(db)
        code = await _code(db, app, seller)
        results = await asyncio.gather(
            *(_exchange(db, app, code) for _ in range(4)), return_exceptions=True
        )
        tokens = [r for r in results if isinstance(r, dict)]
        failures = [r for r in results if isinstance(r, OAuthError)]
        assert len(tokens) == 1 and len(failures) == 3, results
        async with db.read() as session:
            assert len(list(await session.scalars(select(AccessToken)))) == 1

    async def test_a_code_is_dead_once_consent_is_withdrawn(self, db: Database) -> None:
        app, seller = await _setup(db)
        code = await _code(db, app, seller)
        async with db.write() as session:
            await oauth.revoke(session, seller, app.id)
        with pytest.raises(OAuthError, match="invalidate"):
            await _exchange(db, app, code)


class TestClient:
    async def test_wrong_secret_is_invalid_client(self, db: Database) -> None:
        app, _ = await _setup(db)
        async with db.read() as session:
            with pytest.raises(OAuthError) as caught:
                await oauth.authenticate_client(session, app.app_key, "s3cret!", server_secret=S)
            assert caught.value.error == "invalid_client"
            with pytest.raises(OAuthError, match="client_id"):
                await oauth.authenticate_client(session, "99999999", APP_SECRET, server_secret=S)

    @pytest.mark.parametrize(
        "redirect",
        [
            "https://isv.example/cb/",
            "https://isv.example/c",
            "https://isv.example/cbx",
            "https://isv.example/cb?x=1",
            "https://ISV.example/cb",
            "HTTPS://isv.example/cb",
            "https://isv.example/CB",
            "http://isv.example/cb",
            "https://isv.example.evil/cb",
            " https://isv.example/cb",
            "",
        ],
    )
    async def test_only_the_exact_callback_is_accepted(self, db: Database, redirect: str) -> None:
        app, _ = await _setup(db)
        async with db.read() as session:
            assert (await oauth.client_for_redirect(session, app.app_key, CALLBACK)).id == app.id
            with pytest.raises(OAuthError) as caught:
                await oauth.client_for_redirect(session, app.app_key, redirect)
        assert caught.value.as_dict() == {
            "error": "invalid_client",
            "error_description": "application callback can not match the redirect_uri",
        }


class TestRefresh:
    async def test_service_market_refresh_rotates_both_tokens(self, db: Database) -> None:
        app, seller = await _setup(db, app_type="service_market")
        first = await _exchange(db, app, await _code(db, app, seller))
        second = await _refresh(db, app, first["refresh_token"])
        assert second["access_token"] != first["access_token"]
        assert second["refresh_token"] != first["refresh_token"]
        assert await _resolve(db, first["access_token"]) is None
        assert (await _resolve(db, second["access_token"])) is not None
        with pytest.raises(OAuthError, match="already used") as caught:
            await _refresh(db, app, first["refresh_token"])
        assert caught.value.error == "invalid_grant"

    async def test_refresh_works_after_the_access_token_expired(self, db: Database) -> None:
        app, seller = await _setup(db, app_type="service_market")
        first = await _exchange(db, app, await _code(db, app, seller))
        clock.advance(timedelta(hours=25))
        assert await _resolve(db, first["access_token"]) is None
        second = await _refresh(db, app, first["refresh_token"])
        assert (await _resolve(db, second["access_token"])) is not None

    async def test_an_expired_refresh_token_is_refused(self, db: Database) -> None:
        app, seller = await _setup(db, app_type="service_market")
        first = await _exchange(db, app, await _code(db, app, seller))
        clock.advance(oauth.SERVICE_MARKET_REFRESH_TTL + timedelta(seconds=1))
        with pytest.raises(OAuthError, match="expired"):
            await _refresh(db, app, first["refresh_token"])

    async def test_seller_tools_cannot_refresh(self, db: Database) -> None:
        app, seller = await _setup(db)
        first = await _exchange(db, app, await _code(db, app, seller))
        with pytest.raises(OAuthError, match="only service-market apps") as caught:
            await _refresh(db, app, first["refresh_token"])
        assert caught.value.error == "invalid_grant"
        assert await _resolve(db, first["access_token"]) is not None

    async def test_refresh_after_revocation_is_refused(self, db: Database) -> None:
        app, seller = await _setup(db, app_type="service_market")
        first = await _exchange(db, app, await _code(db, app, seller))
        async with db.write() as session:
            await oauth.revoke(session, seller, app.id)
        with pytest.raises(OAuthError) as caught:
            await _refresh(db, app, first["refresh_token"])
        assert caught.value.error == "invalid_grant"

    async def test_an_unknown_refresh_token_is_refused(self, db: Database) -> None:
        app, _ = await _setup(db, app_type="service_market")
        with pytest.raises(OAuthError, match="invalid"):
            await _refresh(db, app, "63nonsense")


class TestSessionsAndRevocation:
    async def test_resolve_session_gives_user_and_app(self, db: Database) -> None:
        app, seller = await _setup(db)
        token = await _exchange(db, app, await _code(db, app, seller))
        found = await _resolve(db, token["access_token"])
        assert found is not None and found[0].id == seller.id and found[1].id == app.id
        assert await _resolve(db, "62nonsense") is None

    async def test_revocation_ends_every_token_at_once(self, db: Database) -> None:
        app, seller = await _setup(db)
        tokens = [await _exchange(db, app, await _code(db, app, seller)) for _ in range(2)]
        async with db.write() as session:
            await oauth.revoke(session, seller, app.id)
        for token in tokens:
            assert await _resolve(db, token["access_token"]) is None
        async with db.read() as session:
            assert await oauth.authorized_apps(session, seller) == []
            rows = list(await session.scalars(select(AccessToken)))
        assert rows and all(row.revoked_at is not None for row in rows)

    async def test_reauthorizing_after_revocation_does_not_revive_old_tokens(
        self, db: Database
    ) -> None:
        app, seller = await _setup(db)
        old = await _exchange(db, app, await _code(db, app, seller))
        async with db.write() as session:
            await oauth.revoke(session, seller, app.id)
        new = await _exchange(db, app, await _code(db, app, seller))
        assert await _resolve(db, old["access_token"]) is None
        assert await _resolve(db, new["access_token"]) is not None

    async def test_revoking_what_is_not_authorized_is_not_found(self, db: Database) -> None:
        app, seller = await _setup(db)
        async with db.write() as session:
            with pytest.raises(NotFound):
                await oauth.revoke(session, seller, app.id)

    async def test_a_frozen_user_has_no_session(self, db: Database) -> None:
        app, seller = await _setup(db)
        token = await _exchange(db, app, await _code(db, app, seller))
        async with db.write() as session:
            user = await session.get_one(User, seller.id)
            user.status = "frozen"
        assert await _resolve(db, token["access_token"]) is None

    async def test_authorized_apps_lists_name_since_and_packages(self, db: Database) -> None:
        app, seller = await _setup(db)
        await _code(db, app, seller)
        async with db.read() as session:
            [row] = await oauth.authorized_apps(session, seller)
        assert row.app_id == app.id and row.name == "ISV 助手"
        assert row.packages == ["商品读取 Items (read)", "交易读取 Trades (read)"]


class TestDevelopmentLimit:
    async def test_a_sixth_user_is_refused_until_one_revokes(self, db: Database) -> None:
        app, _ = await _setup(db)
        async with db.write() as session:
            users = [await make_user(session, f"user{i}") for i in range(6)]
        async with db.write() as session:
            for user in users[:5]:
                await oauth.authorize(session, app, user)
        async with db.write() as session:
            await oauth.authorize(session, app, users[0])  # again: still five users
        with pytest.raises(PermissionDenied, match="at most 5 users"):
            async with db.write() as session:
                await oauth.issue_token_for(session, app, users[5], server_secret=S)
        async with db.write() as session:
            await oauth.revoke(session, users[0], app.id)
        async with db.write() as session:
            await oauth.authorize(session, app, users[5])
        with pytest.raises(PermissionDenied):
            async with db.write() as session:
                await oauth.authorize(session, app, users[0])  # its place was taken

    async def test_an_online_app_has_no_user_limit(self, db: Database) -> None:
        app, _ = await _setup(db, status="online")
        async with db.write() as session:
            for i in range(7):
                await oauth.authorize(session, app, await make_user(session, f"user{i}"))
        async with db.read() as session:
            count = await session.scalar(select(func.count()).select_from(Authorization))
        assert count == 7

    async def test_concurrent_consents_never_pass_the_limit(self, db: Database) -> None:
        app, _ = await _setup(db)
        async with db.write() as session:
            users = [await make_user(session, f"rush{i}") for i in range(8)]

        async def consent(user: User) -> None:
            async with db.write() as session:
                await oauth.authorize(session, app, user)

        results = await asyncio.gather(*(consent(u) for u in users), return_exceptions=True)
        refused = [r for r in results if isinstance(r, PermissionDenied)]
        assert len(refused) == 3, results
        async with db.read() as session:
            count = await session.scalar(
                select(func.count())
                .select_from(Authorization)
                .where(Authorization.app_id == app.id)
            )
        assert count == 5
