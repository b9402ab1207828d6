"""The developer console's call statistics page: the owner sees the per-method table, the
hourly chart and the error calls; another developer gets a 404."""

from __future__ import annotations

from datetime import timedelta

from mercato.kit.clock import utcnow
from mercato.kit.db import Database
from tests.factories.calls import Call, add_calls
from tests.factories.gateway import make_app
from tests.web.conftest import Browser, NewBrowser, user_named


async def _app_with_calls(db: Database, nick: str) -> tuple[int, list[str]]:
    owner = await user_named(db, nick)
    now = utcnow()
    async with db.write() as session:
        app, _ = await make_app(session, owner)
        ids = await add_calls(
            session,
            app,
            [
                Call("taobao.items.onsale.get", 2_000 * n, now - timedelta(minutes=n))
                for n in range(1, 11)
            ]
            + [
                Call(
                    "taobao.trade.get",
                    9_000,
                    now - timedelta(hours=3),
                    code=15,
                    sub_code="isv.trade-not-exist",
                )
            ],
        )
    return app.id, ids


async def test_owner_sees_the_calls(seller: Browser, db: Database) -> None:
    # given alice's app with 10 successful calls and one error
    app_id, ids = await _app_with_calls(db, "alice")
    # when she opens the page
    response = await seller.get(f"/developer/apps/{app_id}/calls")
    # then
    assert response.status_code == 200, response.text
    page = response.text
    assert "taobao.items.onsale.get" in page
    assert '<strong class="total-calls">11</strong>' in page
    assert "100.0%" in page  # onsale success rate
    assert "10.0 ms" in page  # onsale p50: 2..20 ms -> the 5th, 10 ms
    assert "20.0 ms" in page  # p99
    assert "<svg" in page and "<rect" in page
    assert ids[-1] in page and "isv.trade-not-exist" in page  # the error call
    # and the app page links to it
    assert (
        f'href="/developer/apps/{app_id}/calls"'
        in (await seller.get(f"/developer/apps/{app_id}")).text
    )


async def test_ranges(seller: Browser, db: Database) -> None:
    app_id, ids = await _app_with_calls(db, "alice")
    one_hour = await seller.get(f"/developer/apps/{app_id}/calls?hours=1")
    assert one_hour.status_code == 200
    assert ids[-1] not in one_hour.text  # the error was 3 hours ago
    assert (await seller.get(f"/developer/apps/{app_id}/calls?hours=5")).status_code == 200


async def test_other_developer_gets_404(
    seller: Browser, new_browser: NewBrowser, db: Database
) -> None:
    app_id, _ = await _app_with_calls(db, "alice")
    bob = await new_browser()
    await bob.sign_up("bob")
    assert (await bob.get(f"/developer/apps/{app_id}/calls")).status_code == 404


async def test_anonymous_is_sent_to_sign_in(anon: Browser, seller: Browser, db: Database) -> None:
    app_id, _ = await _app_with_calls(db, "alice")
    response = await anon.get(f"/developer/apps/{app_id}/calls")
    assert response.status_code in (303, 401)
