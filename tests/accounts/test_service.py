from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from mercato.accounts import service as accounts
from mercato.kit.clock import clock
from mercato.kit.db import Database
from mercato.kit.errors import PermissionDenied, ValidationFailed
from mercato.models import Role, User, WebSession
from tests.factories.accounts import PASSWORD, make_user


async def count(db: Database, model: type) -> int:
    async with db.read() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


class TestSignUp:
    async def test_creates_a_buyer_with_an_argon2_hash(self, db: Database) -> None:
        async with db.write() as session:
            user = await make_user(session, "小明88")
        assert user.id > 0
        assert user.password_hash.startswith("$argon2id$")
        assert PASSWORD not in user.password_hash
        assert user.role_names == {"buyer"}

    async def test_nick_is_unique_ignoring_case(self, db: Database) -> None:
        async with db.write() as session:
            await make_user(session, "Alice")
        with pytest.raises(ValidationFailed) as err:
            async with db.write() as session:
                await make_user(session, "alice")
        assert err.value.problems[0].field == "nick"
        assert err.value.problems[0].rule == "unique"
        assert await count(db, User) == 1

    @pytest.mark.parametrize(
        ("nick", "password", "field"),
        [
            ("a", "long enough pw", "nick"),
            ("has space", "long enough pw", "nick"),
            ("x" * 33, "long enough pw", "nick"),
            ("<script>", "long enough pw", "nick"),
            ("fine_nick", "short", "password"),
        ],
    )
    def test_rejects_bad_input_naming_the_field(self, nick: str, password: str, field: str) -> None:
        with pytest.raises(ValidationFailed) as err:
            accounts.parse_sign_up(nick, password)
        assert [p.field for p in err.value.problems] == [field]

    async def test_extra_roles(self, db: Database) -> None:
        async with db.write() as session:
            user = await make_user(session, "dev1", {Role.developer})
        assert user.role_names == {"buyer", "developer"}


class TestAuthenticate:
    async def test_right_and_wrong_password(self, db: Database) -> None:
        async with db.write() as session:
            await make_user(session, "bob")
        async with db.write() as session:
            assert (await accounts.authenticate(session, "BOB", PASSWORD)) is not None
            assert await accounts.authenticate(session, "bob", "wrong password") is None
            assert await accounts.authenticate(session, "nobody", PASSWORD) is None

    async def test_suspended_user_cannot_sign_in(self, db: Database) -> None:
        async with db.write() as session:
            user = await make_user(session, "carol")
            user.status = "suspended"
        with pytest.raises(PermissionDenied):
            async with db.write() as session:
                await accounts.authenticate(session, "carol", PASSWORD)


class TestWebSessions:
    async def test_token_resolves_until_closed(self, db: Database) -> None:
        async with db.write() as session:
            user = await make_user(session, "dave")
            token = await accounts.open_web_session(session, user, days=1)
        async with db.read() as session:
            found = await accounts.user_for_token(session, token)
            assert found is not None and found.id == user.id
            assert await accounts.user_for_token(session, token + "x") is None
        async with db.write() as session:
            await accounts.close_web_session(session, token)
        async with db.read() as session:
            assert await accounts.user_for_token(session, token) is None

    async def test_only_a_hash_of_the_token_is_stored(self, db: Database) -> None:
        async with db.write() as session:
            user = await make_user(session, "erin")
            token = await accounts.open_web_session(session, user, days=1)
        async with db.read() as session:
            stored = (await session.scalars(select(WebSession.token_hash))).all()
        assert token not in stored and len(stored) == 1

    async def test_session_expires(self, db: Database) -> None:
        async with db.write() as session:
            user = await make_user(session, "frank")
            token = await accounts.open_web_session(session, user, days=1)
        clock.advance(timedelta(days=1, seconds=1))
        try:
            async with db.read() as session:
                assert await accounts.user_for_token(session, token) is None
        finally:
            clock.reset()
