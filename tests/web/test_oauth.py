"""The OAuth pages and token endpoint, driven as a person's browser and an ISV's server."""

from __future__ import annotations

from urllib.parse import parse_qs, quote, urlencode, urlsplit

import httpx
import pytest

from mercato.kit.db import Database
from mercato.models import App
from mercato.oauth import service as oauth
from tests.factories.accounts import PASSWORD, make_user
from tests.factories.platform import APP_SECRET, CALLBACK, make_oauth_app
from tests.web.conftest import Browser, NewBrowser, user_named


@pytest.fixture
async def isv_app(db: Database) -> App:
    async with db.write() as session:
        dev = await make_user(session, "isv_dev")
        await make_user(session, "小店主")
        return await make_oauth_app(session, dev, name="店铺助手 Shop helper")


def _authorize_url(app: App, **changes: str) -> str:
    params = {
        "response_type": "code",
        "client_id": app.app_key,
        "redirect_uri": CALLBACK,
        "state": "xyz 1",
        "view": "web",
    }
    params.update(changes)
    return "/oauth/authorize?" + urlencode(params)


def _query(location: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


async def _signed_in(new_browser: NewBrowser, nick: str = "小店主") -> Browser:
    browser = await new_browser()
    await browser.get("/login")
    response = await browser.post("/login", {"nick": nick, "password": PASSWORD})
    assert response.status_code == 303
    return browser


async def _consent(browser: Browser, app: App, decision: str = "authorize", **changes: str):
    page = await browser.get(_authorize_url(app, **changes))
    assert page.status_code == 200, page.text
    form = {
        "response_type": changes.get("response_type", "code"),
        "client_id": app.app_key,
        "redirect_uri": changes.get("redirect_uri", CALLBACK),
        "state": changes.get("state", "xyz 1"),
        "view": changes.get("view", "web"),
        "decision": decision,
    }
    return await browser.post("/oauth/authorize", form)


async def _token(anon: Browser, **form: str) -> httpx.Response:
    return await anon.client.post("/oauth/token", data=form)


class TestCodeFlow:
    async def test_the_whole_flow_from_signed_out_to_a_working_token(
        self, new_browser: NewBrowser, anon: Browser, isv_app: App, db: Database
    ) -> None:
        # given a signed-out person following the app's authorize link
        browser = await new_browser()
        url = _authorize_url(isv_app)
        response = await browser.get(url)
        assert response.status_code == 303
        assert response.headers["location"] == f"/login?next={quote(url, safe='')}"
        # when they sign in, they come back to the consent page
        login = await browser.get(response.headers["location"])
        assert login.status_code == 200
        response = await browser.post(
            "/login", {"nick": "小店主", "password": PASSWORD, "next": url}
        )
        assert response.status_code == 303 and response.headers["location"] == url
        page = await browser.get(url)
        assert page.status_code == 200
        assert "店铺助手 Shop helper" in page.text and "isv_dev" in page.text
        assert "商品读取 Items (read)" in page.text and "交易读取 Trades (read)" in page.text
        assert "授权 Authorize" in page.text and "取消 Cancel" in page.text
        # and authorize
        response = await browser.post(
            "/oauth/authorize",
            {
                "response_type": "code",
                "client_id": isv_app.app_key,
                "redirect_uri": CALLBACK,
                "state": "xyz 1",
                "view": "web",
                "decision": "authorize",
            },
        )
        # then the app's callback gets a code and the state back
        assert response.status_code == 303
        location = response.headers["location"]
        assert location.startswith(CALLBACK + "?code=")
        assert _query(location)["state"] == "xyz 1"
        code = _query(location)["code"]
        # and its server trades the code for a token, without cookies or CSRF
        response = await _token(
            anon,
            grant_type="authorization_code",
            code=code,
            client_id=isv_app.app_key,
            client_secret=APP_SECRET,
            redirect_uri=CALLBACK,
            state="xyz 1",
            view="web",
        )
        assert response.status_code == 200, response.text
        assert response.headers["cache-control"] == "no-store"
        token = response.json()
        seller = await user_named(db, "小店主")
        assert token["taobao_user_id"] == str(seller.id)
        assert token["taobao_user_nick"] == quote("小店主", safe="")
        assert token["token_type"] == "Bearer" and token["re_expires_in"] == 0
        async with db.read() as session:
            found = await oauth.resolve_session(session, token["access_token"])
        assert found is not None and found[0].id == seller.id
        # and the code does not work twice
        again = await _token(
            anon,
            grant_type="authorization_code",
            code=code,
            client_id=isv_app.app_key,
            client_secret=APP_SECRET,
            redirect_uri=CALLBACK,
        )
        assert again.status_code == 400
        assert again.json() == {
            "error": "invalid_client",
            "error_description": f"authorize code {code} invalidate,please authorize again.",
        }

    async def test_cancel_goes_back_with_access_denied_and_the_state(
        self, new_browser: NewBrowser, isv_app: App
    ) -> None:
        browser = await _signed_in(new_browser)
        response = await _consent(browser, isv_app, "cancel")
        assert response.status_code == 303
        assert response.headers["location"] == (
            f"{CALLBACK}?error=access_denied&error_description=authorize%20reject&state=xyz%201"
        )

    async def test_consent_needs_the_csrf_token(
        self, new_browser: NewBrowser, isv_app: App
    ) -> None:
        browser = await _signed_in(new_browser)
        response = await browser.post(
            "/oauth/authorize",
            {"response_type": "code", "client_id": isv_app.app_key, "redirect_uri": CALLBACK,
             "decision": "authorize"},
            csrf=False,
        )  # fmt: skip
        assert response.status_code == 403 and "location" not in response.headers

    async def test_state_is_left_out_when_none_was_sent(
        self, new_browser: NewBrowser, isv_app: App
    ) -> None:
        browser = await _signed_in(new_browser)
        response = await _consent(browser, isv_app, state="")
        assert set(_query(response.headers["location"])) == {"code"}

    async def test_wap_view_renders_the_compact_page(
        self, new_browser: NewBrowser, isv_app: App
    ) -> None:
        browser = await _signed_in(new_browser)
        page = await browser.get(_authorize_url(isv_app, view="wap"))
        assert page.status_code == 200
        assert 'class="wap"' in page.text and 'data-view="wap"' in page.text
        assert "searchbox" not in page.text  # no storefront header on the phone page
        web = await browser.get(_authorize_url(isv_app))
        assert "searchbox" in web.text and 'data-view="web"' in web.text


class TestBadRequests:
    @pytest.mark.parametrize(
        "redirect",
        [
            "https://isv.example/cb/",
            "https://isv.example/c",
            "https://isv.example/cb2",
            "https://isv.example/cb?next=x",
            "https://isv.example/CB",
            "https://ISV.EXAMPLE/cb",
            "http://isv.example/cb",
            "https://evil.example/cb",
            "https://evil.example/?https://isv.example/cb",
            "",
        ],
    )
    async def test_a_redirect_uri_that_is_not_exactly_the_callback_is_400(
        self, new_browser: NewBrowser, isv_app: App, redirect: str
    ) -> None:
        browser = await _signed_in(new_browser)
        response = await browser.get(_authorize_url(isv_app, redirect_uri=redirect))
        assert response.status_code == 400 and "location" not in response.headers
        assert response.json() == {
            "error": "invalid_client",
            "error_description": "application callback can not match the redirect_uri",
        }
        posted = await browser.post(
            "/oauth/authorize",
            {"response_type": "code", "client_id": isv_app.app_key, "redirect_uri": redirect,
             "decision": "authorize"},
        )  # fmt: skip
        assert posted.status_code == 400 and "location" not in posted.headers

    async def test_an_unknown_client_is_400_even_signed_out(self, anon: Browser) -> None:
        response = await anon.get(
            "/oauth/authorize?" + urlencode({"response_type": "code", "client_id": "1",
                                             "redirect_uri": CALLBACK})
        )  # fmt: skip
        assert response.status_code == 400
        assert response.json()["error"] == "invalid_client"

    async def test_a_bad_response_type_is_redirected_to_the_verified_callback(
        self, anon: Browser, isv_app: App
    ) -> None:
        response = await anon.get(_authorize_url(isv_app, response_type="id_token"))
        assert response.status_code == 303
        query = _query(response.headers["location"])
        assert response.headers["location"].startswith(CALLBACK + "?")
        assert query["error"] == "unsupported_response_type" and query["state"] == "xyz 1"

    async def test_wrong_secret_is_invalid_client(
        self, new_browser: NewBrowser, anon: Browser, isv_app: App
    ) -> None:
        browser = await _signed_in(new_browser)
        code = _query((await _consent(browser, isv_app)).headers["location"])["code"]
        response = await _token(
            anon,
            grant_type="authorization_code",
            code=code,
            client_id=isv_app.app_key,
            client_secret="wrong",
            redirect_uri=CALLBACK,
        )
        assert response.status_code == 400
        assert response.json() == {
            "error": "invalid_client",
            "error_description": "client_secret is invalid",
        }

    async def test_a_code_with_another_redirect_uri_is_refused(
        self, new_browser: NewBrowser, anon: Browser, isv_app: App
    ) -> None:
        browser = await _signed_in(new_browser)
        code = _query((await _consent(browser, isv_app)).headers["location"])["code"]
        response = await _token(
            anon,
            grant_type="authorization_code",
            code=code,
            client_id=isv_app.app_key,
            client_secret=APP_SECRET,
            redirect_uri=CALLBACK + "/other",
        )
        assert response.status_code == 400 and response.json()["error"] == "invalid_client"

    @pytest.mark.parametrize("grant", ["password", "client_credentials", ""])
    async def test_an_unknown_grant_is_unsupported(
        self, anon: Browser, isv_app: App, grant: str
    ) -> None:
        response = await _token(
            anon, grant_type=grant, client_id=isv_app.app_key, client_secret=APP_SECRET
        )
        assert response.status_code == 400
        assert response.json()["error"] == "unsupported_grant_type"

    async def test_a_malformed_token_body_is_400(self, anon: Browser) -> None:
        response = await anon.client.post(
            "/oauth/token",
            content=b"--x\r\nbroken",
            headers={"content-type": "multipart/form-data; boundary=x"},
        )
        assert response.status_code == 400


class TestRefreshOverHttp:
    async def test_refresh_for_service_market_and_refused_for_tools(
        self, new_browser: NewBrowser, anon: Browser, db: Database, isv_app: App
    ) -> None:
        async with db.write() as session:
            market = await make_oauth_app(
                session, await user_named(db, "isv_dev"), app_type="service_market"
            )
        browser = await _signed_in(new_browser)
        for app, expect_ok in ((market, True), (isv_app, False)):
            code = _query((await _consent(browser, app)).headers["location"])["code"]
            first = await _token(
                anon,
                grant_type="authorization_code",
                code=code,
                client_id=app.app_key,
                client_secret=APP_SECRET,
                redirect_uri=CALLBACK,
            )
            refreshed = await _token(
                anon,
                grant_type="refresh_token",
                refresh_token=first.json()["refresh_token"],
                client_id=app.app_key,
                client_secret=APP_SECRET,
            )
            if expect_ok:
                assert refreshed.status_code == 200, refreshed.text
                assert refreshed.json()["expires_in"] == 86400
            else:
                assert refreshed.status_code == 400
                assert refreshed.json()["error"] == "invalid_grant"


class TestImplicitFlow:
    async def test_the_token_comes_back_in_the_fragment(
        self, new_browser: NewBrowser, isv_app: App, db: Database
    ) -> None:
        browser = await _signed_in(new_browser)
        response = await _consent(browser, isv_app, response_type="token")
        assert response.status_code == 303
        location = response.headers["location"]
        base, fragment = location.split("#", 1)
        assert base == CALLBACK
        fields = {k: v[0] for k, v in parse_qs(fragment).items()}
        assert list(fields) == [
            "access_token", "token_type", "expires_in", "refresh_token", "re_expires_in",
            "r1_expires_in", "r2_expires_in", "w1_expires_in", "w2_expires_in",
            "taobao_user_id", "taobao_user_nick", "state", "top_sign",
        ]  # fmt: skip
        assert "taobao_user_nick=%E5%B0%8F%E5%BA%97%E4%B8%BB" in fragment
        assert fields["state"] == "xyz 1" and fields["token_type"] == "Bearer"
        seller = await user_named(db, "小店主")
        assert fields["taobao_user_id"] == str(seller.id)
        # top_sign is TOP's md5 signature over the other fields with the app secret
        signed = {k: v for k, v in fields.items() if k != "top_sign"}
        assert fields["top_sign"] == oauth._top_sign(APP_SECRET, signed)
        async with db.read() as session:
            assert await oauth.resolve_session(session, fields["access_token"]) is not None


class TestAuthorizedApps:
    async def test_list_and_revoke_end_the_token_at_once(
        self, new_browser: NewBrowser, anon: Browser, isv_app: App, db: Database
    ) -> None:
        browser = await _signed_in(new_browser)
        code = _query((await _consent(browser, isv_app)).headers["location"])["code"]
        token = (
            await _token(
                anon,
                grant_type="authorization_code",
                code=code,
                client_id=isv_app.app_key,
                client_secret=APP_SECRET,
                redirect_uri=CALLBACK,
            )
        ).json()["access_token"]
        home = await browser.get("/")
        assert 'href="/account/apps"' in home.text
        page = await browser.get("/account/apps")
        assert page.status_code == 200
        assert "店铺助手 Shop helper" in page.text and "商品读取 Items (read)" in page.text
        assert "解除授权 Revoke" in page.text
        # when
        response = await browser.post(f"/account/apps/{isv_app.id}/revoke")
        # then
        assert response.status_code == 303
        async with db.read() as session:
            assert await oauth.resolve_session(session, token) is None
        page = await browser.get(response.headers["location"])
        assert "店铺助手 Shop helper" not in page.text and "已解除授权" in page.text
        again = await browser.post(f"/account/apps/{isv_app.id}/revoke")
        assert again.status_code == 404

    async def test_the_page_needs_sign_in_and_revoke_needs_csrf(
        self, anon: Browser, new_browser: NewBrowser, isv_app: App
    ) -> None:
        response = await anon.get("/account/apps")
        assert response.status_code == 303 and response.headers["location"].startswith("/login")
        browser = await _signed_in(new_browser)
        await _consent(browser, isv_app)
        response = await browser.post(f"/account/apps/{isv_app.id}/revoke", csrf=False)
        assert response.status_code == 403

    async def test_another_users_revoke_touches_nothing(
        self, new_browser: NewBrowser, isv_app: App, db: Database
    ) -> None:
        owner = await _signed_in(new_browser)
        await _consent(owner, isv_app)
        other = await new_browser()
        await other.sign_up("bystander")
        response = await other.post(f"/account/apps/{isv_app.id}/revoke")
        assert response.status_code == 404
        page = await owner.get("/account/apps")
        assert "店铺助手 Shop helper" in page.text


class TestDevelopmentLimit:
    async def test_a_sixth_user_sees_an_error_page(
        self, new_browser: NewBrowser, isv_app: App
    ) -> None:
        for i in range(5):
            browser = await new_browser()
            await browser.sign_up(f"early{i}")
            response = await _consent(browser, isv_app)
            assert response.status_code == 303 and "code=" in response.headers["location"]
        late = await new_browser()
        await late.sign_up("late6")
        response = await _consent(late, isv_app)
        assert response.status_code == 403
        assert "location" not in response.headers
        assert "at most 5 users" in response.text
