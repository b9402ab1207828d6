"""Developer apps through the service: keys, secrets at rest, rotation, packages, the
whitelist, review and tenancy. Refused calls are checked to have written nothing."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import func, select, text

from mercato.developer import service as dev
from mercato.developer.packages import ALL_PACKAGES, PACKAGES, package
from mercato.kit.crypto import UnreadableSecret
from mercato.kit.db import Database
from mercato.kit.errors import NotFound, PermissionDenied, ValidationFailed
from mercato.models import App, AppPackage, Role, User
from tests.factories.accounts import make_user

SERVER_SECRET = "server-secret-for-tests"


async def _create(db: Database, nick: str = "dev1", **kw: object) -> tuple[App, str]:
    args: dict[str, object] = {
        "name": "订单助手 Order helper",
        "app_type": "seller_tool",
        "callback_url": "https://example.com/cb",
    }
    args.update(kw)
    async with db.write() as session:
        owner = await session.scalar(select(User).where(User.nick == nick))
        owner = owner or await make_user(session, nick)
        return await dev.create_app(session, owner, server_secret=SERVER_SECRET, **args)  # type: ignore[arg-type]


async def _count(db: Database) -> int:
    async with db.read() as session:
        return int(await session.scalar(select(func.count()).select_from(App)) or 0)


async def _reload(db: Database, app_id: int) -> App:
    async with db.read() as session:
        app = await session.get(App, app_id)
    assert app is not None
    return app


def test_the_catalogue_names_every_package_once() -> None:
    expected = {"items-read", "items-write", "trades-read", "trades-write", "logistics"}
    expected |= {"refunds", "messages", "users", "shops"}
    assert set(ALL_PACKAGES) == expected
    assert package("items-read").title_en == "Items (read)"
    with pytest.raises(TypeError):
        PACKAGES["x"] = package("users")  # type: ignore[index]


class TestCreate:
    async def test_a_new_app_has_a_key_a_secret_all_packages_and_a_developer_owner(
        self, db: Database
    ) -> None:
        app, secret = await _create(db)
        assert len(app.app_key) == 8 and app.app_key.isdigit() and app.app_key[0] != "0"
        assert len(secret) == 32 and int(secret, 16) >= 0
        assert app.status == "development"
        assert dev.package_names(app) == list(ALL_PACKAGES)
        assert dev.app_secret(app, SERVER_SECRET) == secret
        async with db.read() as session:
            owner = await session.get(User, app.owner_id)
        assert owner is not None and owner.has_role(Role.developer)

    async def test_the_secret_is_never_stored_in_plain_text(self, db: Database) -> None:
        app, secret = await _create(db)
        async with db.read() as session:
            rows = (await session.execute(text("SELECT * FROM apps"))).all()
        assert rows and all(secret not in str(value) for value in rows[0])
        with pytest.raises(UnreadableSecret):
            dev.app_secret(app, "another-server-secret")

    async def test_chosen_packages_are_held(self, db: Database) -> None:
        app, _ = await _create(db, packages=["trades-read", "items-read", "items-read"])
        assert dev.package_names(await _reload(db, app.id)) == ["items-read", "trades-read"]

    async def test_a_key_collision_is_retried(
        self, db: Database, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        first, _ = await _create(db)
        keys: Iterator[str] = iter([first.app_key, first.app_key, "12345678"])
        monkeypatch.setattr(dev, "new_app_key", lambda: next(keys))
        second, _ = await _create(db, "dev2")
        assert second.app_key == "12345678"

    @pytest.mark.parametrize(
        ("changes", "field"),
        [
            ({"name": "  "}, "name"),
            ({"name": "x" * 61}, "name"),
            ({"app_type": "robot"}, "app_type"),
            ({"callback_url": "ftp://example.com/cb"}, "callback_url"),
            ({"callback_url": "/relative/cb"}, "callback_url"),
            ({"callback_url": "https://example.com/cb#frag"}, "callback_url"),
            ({"callback_url": "https://:80/cb"}, "callback_url"),
            ({"callback_url": "https://example.com:99999/cb"}, "callback_url"),
            ({"callback_url": "https://example.com/" + "a" * 500}, "callback_url"),
            ({"packages": ["items-read", "nukes"]}, "packages"),
        ],
    )
    async def test_bad_input_names_the_field_and_writes_nothing(
        self, db: Database, changes: dict[str, object], field: str
    ) -> None:
        with pytest.raises(ValidationFailed) as err:
            await _create(db, **changes)
        assert field in err.value.by_field()
        assert await _count(db) == 0

    async def test_every_bad_field_is_reported_at_once(self, db: Database) -> None:
        with pytest.raises(ValidationFailed) as err:
            await _create(db, name="", app_type="x", callback_url="nope", packages=["?"])
        assert set(err.value.by_field()) == {"name", "app_type", "callback_url", "packages"}

    async def test_http_callback_is_allowed_for_development(self, db: Database) -> None:
        app, _ = await _create(db, callback_url="http://localhost:8080/cb?x=1")
        assert app.callback_url == "http://localhost:8080/cb?x=1"


class TestSecretRotation:
    async def test_rotation_replaces_the_secret_at_once(self, db: Database) -> None:
        app, old = await _create(db)
        async with db.write() as session:
            owner = await session.get(User, app.owner_id)
            assert owner is not None
            mine = await dev.get_own_app(session, owner, app.id)
            new = await dev.rotate_secret(session, mine, server_secret=SERVER_SECRET)
        assert new != old and len(new) == 32
        stored = await _reload(db, app.id)
        assert dev.app_secret(stored, SERVER_SECRET) == new
        assert stored.secret_rotated_at is not None
        assert new not in stored.secret_encrypted and old not in stored.secret_encrypted


class TestUpdate:
    async def test_settings_and_whitelist_are_normalised(self, db: Database) -> None:
        app, _ = await _create(db)
        async with db.write() as session:
            mine = await session.get(App, app.id)
            assert mine is not None
            await dev.update_app(
                session,
                mine,
                name=" New name ",
                callback_url="http://127.0.0.1:9000/cb",
                ip_whitelist="10.0.0.7/24, 192.168.1.5\n2001:db8::/32, 192.168.1.5",
            )
        stored = await _reload(db, app.id)
        assert stored.name == "New name"
        assert stored.ip_whitelist == "10.0.0.0/24,192.168.1.5/32,2001:db8::/32"

    @pytest.mark.parametrize(
        ("changes", "field"),
        [
            ({"ip_whitelist": "10.0.0.1, 300.1.1.1"}, "ip_whitelist"),
            ({"ip_whitelist": "example.com"}, "ip_whitelist"),
            ({"ip_whitelist": "10.0.0.0/33"}, "ip_whitelist"),
            ({"callback_url": "javascript:alert(1)"}, "callback_url"),
            ({"name": ""}, "name"),
        ],
    )
    async def test_bad_settings_change_nothing(
        self, db: Database, changes: dict[str, str], field: str
    ) -> None:
        app, _ = await _create(db)
        with pytest.raises(ValidationFailed) as err:
            async with db.write() as session:
                mine = await session.get(App, app.id)
                assert mine is not None
                await dev.update_app(session, mine, **{"name": "Changed", **changes})
        assert field in err.value.by_field()
        stored = await _reload(db, app.id)
        assert stored.name == app.name and stored.ip_whitelist == ""

    async def test_packages_can_be_narrowed_and_widened(self, db: Database) -> None:
        app, _ = await _create(db, packages=["items-read", "trades-read"])
        async with db.write() as session:
            mine = await session.get(App, app.id)
            assert mine is not None
            await dev.set_packages(session, mine, ["trades-read", "logistics"])
        assert dev.package_names(await _reload(db, app.id)) == ["trades-read", "logistics"]
        with pytest.raises(ValidationFailed) as err:
            async with db.write() as session:
                mine = await session.get(App, app.id)
                assert mine is not None
                await dev.set_packages(session, mine, ["items-read", "bogus"])
        assert "packages" in err.value.by_field()
        async with db.read() as session:
            rows = await session.scalars(select(AppPackage.package).order_by(AppPackage.package))
            assert list(rows) == ["logistics", "trades-read"]


class TestIpAllowed:
    async def test_empty_whitelist_allows_any_address(self, db: Database) -> None:
        app, _ = await _create(db)
        assert dev.ip_allowed(app, "203.0.113.9") and dev.ip_allowed(app, "::1")

    @pytest.mark.parametrize(
        ("ip", "allowed"),
        [
            ("10.1.2.3", True),
            ("10.1.3.1", False),
            ("192.168.1.5", True),
            ("::ffff:192.168.1.5", True),
            ("2001:db8::42", True),
            ("2001:db9::1", False),
            ("not-an-ip", False),
            ("", False),
        ],
    )
    async def test_whitelist_matches_addresses_and_networks(
        self, db: Database, ip: str, allowed: bool
    ) -> None:
        app, _ = await _create(db)
        app.ip_whitelist = "10.1.2.0/24,192.168.1.5/32,2001:db8::/32"
        assert dev.ip_allowed(app, ip) is allowed


class TestReview:
    async def _submitted(self, db: Database) -> App:
        app, _ = await _create(db)
        async with db.write() as session:
            mine = await session.get(App, app.id)
            assert mine is not None
            return await dev.submit_for_review(session, mine)

    async def test_operator_approves_and_the_app_goes_online(self, db: Database) -> None:
        app = await self._submitted(db)
        assert app.status == "reviewing"
        async with db.write() as session:
            operator = await make_user(session, "op", {Role.operator})
            queue = await dev.apps_awaiting_review(session, operator)
            assert [a.id for a in queue] == [app.id]
            await dev.review(session, operator, queue[0], approve=True)
        stored = await _reload(db, app.id)
        assert stored.status == "online" and dev.limits_for(stored) is None

    async def test_rejection_sends_the_app_back_to_development(self, db: Database) -> None:
        app = await self._submitted(db)
        async with db.write() as session:
            operator = await make_user(session, "op", {Role.operator})
            target = await dev.app_for_review(session, operator, app.id)
            await dev.review(session, operator, target, approve=False)
        assert (await _reload(db, app.id)).status == "development"

    async def test_review_requires_the_operator_role(self, db: Database) -> None:
        app = await self._submitted(db)
        with pytest.raises(PermissionDenied):
            async with db.write() as session:
                owner = await session.get(User, app.owner_id)
                mine = await session.get(App, app.id)
                assert owner is not None and mine is not None
                await dev.review(session, owner, mine, approve=True)
        with pytest.raises(PermissionDenied):
            async with db.read() as session:
                owner = await session.get(User, app.owner_id)
                assert owner is not None
                await dev.apps_awaiting_review(session, owner)
        assert (await _reload(db, app.id)).status == "reviewing"

    async def test_only_allowed_steps(self, db: Database) -> None:
        app, _ = await _create(db, callback_url="")
        async with db.write() as session:
            mine = await session.get(App, app.id)
            operator = await make_user(session, "op", {Role.operator})
            assert mine is not None
            with pytest.raises(ValidationFailed) as err:
                await dev.submit_for_review(session, mine)
            assert "callback_url" in err.value.by_field()
            with pytest.raises(ValidationFailed) as err:
                await dev.review(session, operator, mine, approve=True)
            assert err.value.problems[0].rule == "transition"
            mine.callback_url = "https://example.com/cb"
            await dev.submit_for_review(session, mine)
            with pytest.raises(ValidationFailed):
                await dev.submit_for_review(session, mine)


class TestTenancyAndLimits:
    async def test_another_developers_app_is_not_found(self, db: Database) -> None:
        app, _ = await _create(db, "alice_dev")
        await _create(db, "bob_dev", name="Bob's")
        async with db.read() as session:
            bob = await session.scalar(select(User).where(User.nick == "bob_dev"))
            assert bob is not None
            with pytest.raises(NotFound):
                await dev.get_own_app(session, bob, app.id)
            assert [a.name for a in await dev.my_apps(session, bob)] == ["Bob's"]

    def test_development_limits_are_tops_test_environment(self) -> None:
        limits = dev.development_limits()
        assert (limits.max_authorized_users, limits.daily_calls) == (5, 5_000)
