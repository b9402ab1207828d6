"""The developer console and the operator's review queue: creating an app shows its secret
once, settings and packages are checked field by field, another developer's app is not
found, and only operators review. Refused posts are checked to have changed nothing."""

from __future__ import annotations

import re

from sqlalchemy import select, text

from mercato.developer import service as dev
from mercato.kit.db import Database
from mercato.models import App, Role, User
from tests.factories.accounts import PASSWORD, make_user
from tests.web.conftest import Browser, NewBrowser

_SECRET = re.compile(r"data-secret>([0-9a-f]{32})<")
_APP_LINK = re.compile(r'href="/developer/apps/(\d+)"')


async def _create(browser: Browser, **changes: object) -> tuple[int, str]:
    """Create an app through the form; returns its id and the secret shown once."""
    await browser.get("/developer/apps/new")
    form: dict[str, object] = {
        "name": "订单助手 Order helper",
        "app_type": "seller_tool",
        "callback_url": "https://example.com/cb",
        "packages": ["items-read", "trades-read"],
    }
    form.update(changes)
    response = await browser.post("/developer/apps", form)
    assert response.status_code == 200, response.text
    secret = _SECRET.search(response.text)
    assert secret, response.text
    assert response.headers["cache-control"] == "no-store"
    home = await browser.get("/developer")
    return int(_APP_LINK.findall(home.text)[0]), secret[1]


async def _app(db: Database, app_id: int) -> App:
    async with db.read() as session:
        app = await session.get(App, app_id)
    assert app is not None
    return app


async def _signed_in(new_browser: NewBrowser, nick: str) -> Browser:
    browser = await new_browser()
    await browser.sign_up(nick)
    return browser


async def _operator(db: Database, new_browser: NewBrowser) -> Browser:
    async with db.write() as session:
        await make_user(session, "op", {Role.operator})
    browser = await new_browser()
    await browser.get("/login")
    response = await browser.post("/login", {"nick": "op", "password": PASSWORD})
    assert response.status_code == 303
    return browser


class TestCreate:
    async def test_anonymous_is_sent_to_sign_in(self, anon: Browser) -> None:
        response = await anon.get("/developer")
        assert response.status_code == 303
        assert response.headers["location"] == "/login?next=/developer"

    async def test_header_links_to_the_console(self, new_browser: NewBrowser) -> None:
        browser = await _signed_in(new_browser, "dora")
        assert 'href="/developer"' in (await browser.get("/")).text

    async def test_create_shows_the_secret_once_and_stores_it_encrypted(
        self, db: Database, new_browser: NewBrowser
    ) -> None:
        browser = await _signed_in(new_browser, "dora")
        app_id, secret = await _create(browser)
        stored = await _app(db, app_id)
        assert stored.status == "development" and dev.package_names(stored) == [
            "items-read",
            "trades-read",
        ]
        assert dev.app_secret(stored, "test-secret-key") == secret
        async with db.read() as session:
            rows = (await session.execute(text("SELECT * FROM apps"))).all()
        assert all(secret not in str(value) for value in rows[0])
        # Every later view shows it masked.
        detail = await browser.get(f"/developer/apps/{app_id}")
        assert detail.status_code == 200
        assert secret not in detail.text and stored.app_key in detail.text
        assert secret not in (await browser.get("/developer")).text
        # The owner became a developer.
        async with db.read() as session:
            owner = await session.get(User, stored.owner_id)
        assert owner is not None and owner.has_role(Role.developer)

    async def test_bad_fields_are_422_with_the_field_named_and_nothing_written(
        self, db: Database, new_browser: NewBrowser
    ) -> None:
        browser = await _signed_in(new_browser, "dora")
        await browser.get("/developer/apps/new")
        response = await browser.post(
            "/developer/apps",
            {
                "name": "",
                "app_type": "robot",
                "callback_url": "ftp://example.com",
                "packages": ["items-read", "nukes"],
            },
        )
        assert response.status_code == 422
        assert response.text.count("has-error") == 4
        assert "1 to 60 characters" in response.text
        assert "one of seller_tool" in response.text
        assert "absolute http" in response.text
        assert "unknown package nukes" in response.text
        async with db.read() as session:
            assert (await session.scalars(select(App))).first() is None


class TestManage:
    async def test_settings_whitelist_and_packages(
        self, db: Database, new_browser: NewBrowser
    ) -> None:
        browser = await _signed_in(new_browser, "dora")
        app_id, _ = await _create(browser)
        await browser.get(f"/developer/apps/{app_id}")
        saved = await browser.post(
            f"/developer/apps/{app_id}",
            {
                "name": "Renamed",
                "callback_url": "http://localhost:9000/cb",
                "ip_whitelist": "203.0.113.7, 10.0.0.0/24",
            },
        )
        assert saved.status_code == 303
        assert saved.headers["location"] == f"/developer/apps/{app_id}?msg=saved"
        packages = await browser.post(
            f"/developer/apps/{app_id}/packages", {"packages": ["logistics", "refunds"]}
        )
        assert packages.status_code == 303
        stored = await _app(db, app_id)
        assert stored.name == "Renamed" and stored.ip_whitelist == "203.0.113.7/32,10.0.0.0/24"
        assert dev.package_names(stored) == ["logistics", "refunds"]

    async def test_bad_ip_unknown_package_and_bad_callback_are_422_changing_nothing(
        self, db: Database, new_browser: NewBrowser
    ) -> None:
        browser = await _signed_in(new_browser, "dora")
        app_id, _ = await _create(browser)
        before = await _app(db, app_id)
        await browser.get(f"/developer/apps/{app_id}")
        bad_ip = await browser.post(
            f"/developer/apps/{app_id}",
            {"name": "Renamed", "callback_url": "https://ok.example/cb", "ip_whitelist": "1.2.3"},
        )
        assert bad_ip.status_code == 422 and "not an IP address" in bad_ip.text
        assert 'value="1.2.3"' not in bad_ip.text and ">1.2.3</textarea>" in bad_ip.text
        bad_url = await browser.post(
            f"/developer/apps/{app_id}",
            {"name": "Renamed", "callback_url": "example.com/cb", "ip_whitelist": ""},
        )
        assert bad_url.status_code == 422 and "absolute http" in bad_url.text
        bad_package = await browser.post(
            f"/developer/apps/{app_id}/packages", {"packages": ["items-read", "nukes"]}
        )
        assert bad_package.status_code == 422 and "unknown package nukes" in bad_package.text
        after = await _app(db, app_id)
        assert (after.name, after.callback_url, after.ip_whitelist) == (
            before.name,
            before.callback_url,
            before.ip_whitelist,
        )
        assert dev.package_names(after) == dev.package_names(before)

    async def test_rotate_shows_the_new_secret_once_and_the_old_stops_working(
        self, db: Database, new_browser: NewBrowser
    ) -> None:
        browser = await _signed_in(new_browser, "dora")
        app_id, old = await _create(browser)
        await browser.get(f"/developer/apps/{app_id}")
        response = await browser.post(f"/developer/apps/{app_id}/rotate-secret")
        assert response.status_code == 200
        assert response.headers["cache-control"] == "no-store"
        match = _SECRET.search(response.text)
        assert match and match[1] != old
        stored = await _app(db, app_id)
        assert dev.app_secret(stored, "test-secret-key") == match[1] != old
        assert match[1] not in (await browser.get(f"/developer/apps/{app_id}")).text

    async def test_another_developer_gets_404_and_changes_nothing(
        self, db: Database, new_browser: NewBrowser
    ) -> None:
        alice = await _signed_in(new_browser, "alice")
        app_id, secret = await _create(alice)
        mallory = await _signed_in(new_browser, "mallory")
        assert (await mallory.get(f"/developer/apps/{app_id}")).status_code == 404
        await mallory.get("/developer")
        posts = {
            f"/developer/apps/{app_id}": {"name": "pwned", "callback_url": "", "ip_whitelist": ""},
            f"/developer/apps/{app_id}/packages": {"packages": ["users"]},
            f"/developer/apps/{app_id}/submit": {},
            f"/developer/apps/{app_id}/rotate-secret": {},
        }
        for url, form in posts.items():
            response = await mallory.post(url, form)
            assert response.status_code == 404, url
        assert "pwned" not in (await mallory.get("/developer")).text
        stored = await _app(db, app_id)
        assert stored.name != "pwned" and stored.status == "development"
        assert dev.app_secret(stored, "test-secret-key") == secret
        assert dev.package_names(stored) == ["items-read", "trades-read"]


class TestReview:
    async def test_submit_then_operator_approves(
        self, db: Database, new_browser: NewBrowser
    ) -> None:
        browser = await _signed_in(new_browser, "dora")
        app_id, _ = await _create(browser)
        await browser.get(f"/developer/apps/{app_id}")
        submitted = await browser.post(f"/developer/apps/{app_id}/submit")
        assert submitted.status_code == 303
        assert (await _app(db, app_id)).status == "reviewing"
        again = await browser.post(f"/developer/apps/{app_id}/submit")
        assert again.status_code == 422

        operator = await _operator(db, new_browser)
        queue = await operator.get("/operator/apps")
        assert queue.status_code == 200 and "Order helper" in queue.text and "dora" in queue.text
        approved = await operator.post(f"/operator/apps/{app_id}/review", {"decision": "approve"})
        assert approved.status_code == 303
        assert (await _app(db, app_id)).status == "online"
        assert "Order helper" not in (await operator.get("/operator/apps")).text

    async def test_operator_rejects_back_to_development(
        self, db: Database, new_browser: NewBrowser
    ) -> None:
        browser = await _signed_in(new_browser, "dora")
        app_id, _ = await _create(browser)
        await browser.get(f"/developer/apps/{app_id}")
        await browser.post(f"/developer/apps/{app_id}/submit")
        operator = await _operator(db, new_browser)
        await operator.get("/operator/apps")
        bad = await operator.post(f"/operator/apps/{app_id}/review", {"decision": "maybe"})
        assert bad.status_code == 422 and (await _app(db, app_id)).status == "reviewing"
        rejected = await operator.post(f"/operator/apps/{app_id}/review", {"decision": "reject"})
        assert rejected.status_code == 303
        assert (await _app(db, app_id)).status == "development"

    async def test_review_requires_the_operator_role(
        self, db: Database, new_browser: NewBrowser
    ) -> None:
        browser = await _signed_in(new_browser, "dora")
        app_id, _ = await _create(browser)
        await browser.get(f"/developer/apps/{app_id}")
        await browser.post(f"/developer/apps/{app_id}/submit")
        assert (await browser.get("/operator/apps")).status_code == 403
        response = await browser.post(f"/operator/apps/{app_id}/review", {"decision": "approve"})
        assert response.status_code == 403
        assert (await _app(db, app_id)).status == "reviewing"

    async def test_submitting_without_a_callback_names_it(
        self, db: Database, new_browser: NewBrowser
    ) -> None:
        browser = await _signed_in(new_browser, "dora")
        app_id, _ = await _create(browser, callback_url="")
        await browser.get(f"/developer/apps/{app_id}")
        response = await browser.post(f"/developer/apps/{app_id}/submit")
        assert response.status_code == 422 and "set a callback URL first" in response.text
        assert (await _app(db, app_id)).status == "development"
