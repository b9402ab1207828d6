"""The developer console's API reference, generated from the method registry: the
catalogue lists every declared method by permission package, a method's page shows its
parameters, package, response root, errors and example, an unknown method is a 404 and
signed-out people are sent to sign in."""

from __future__ import annotations

import html
import json
import re

import pytest

from mercato.developer.packages import PACKAGES
from mercato.gateway import envelope, registry
from tests.web.conftest import Browser, NewBrowser

_EXAMPLE = re.compile(r'<pre class="api-example"><code>(.*?)</code></pre>', re.S)


async def _signed_in(new_browser: NewBrowser, nick: str = "dora") -> Browser:
    browser = await new_browser()
    await browser.sign_up(nick)
    return browser


class TestCatalogue:
    async def test_lists_every_registered_method_with_a_link(self, new_browser: NewBrowser) -> None:
        browser = await _signed_in(new_browser)
        response = await browser.get("/developer/api")
        assert response.status_code == 200
        methods = registry.methods()
        assert methods
        for method in methods:
            assert f'href="/developer/api/{method.name}"' in response.text, method.name

    async def test_groups_by_package_title(self, new_browser: NewBrowser) -> None:
        browser = await _signed_in(new_browser)
        text = html.unescape((await browser.get("/developer/api")).text)
        for name in {m.package for m in registry.methods() if m.package}:
            assert PACKAGES[name].title in text
        if any(m.package is None for m in registry.methods()):
            assert "No package" in text

    async def test_console_links_to_the_docs(self, new_browser: NewBrowser) -> None:
        browser = await _signed_in(new_browser)
        assert 'href="/developer/api"' in (await browser.get("/developer")).text

    async def test_anonymous_is_sent_to_sign_in(self, anon: Browser) -> None:
        response = await anon.get("/developer/api")
        assert response.status_code == 303
        assert response.headers["location"] == "/login?next=/developer/api"


class TestMethodPage:
    async def test_trades_sold_get(self, new_browser: NewBrowser) -> None:
        browser = await _signed_in(new_browser)
        response = await browser.get("/developer/api/taobao.trades.sold.get")
        assert response.status_code == 200
        text = html.unescape(response.text)
        method = registry.get("taobao.trades.sold.get")
        assert method is not None and method.package
        # A required parameter, the package, the root and list wrapping, paging, errors.
        assert re.search(r"<code>fields</code></td>\s*<td>String</td>\s*<td><strong", text)
        assert PACKAGES[method.package].title in text
        assert "trades_sold_get_response" in text
        assert "<code>trades</code> → <code>trade[]</code>" in text
        assert 'class="max-page-size">100<' in text
        assert "Missing Session" in text and "Insufficient Session Permissions" in text
        # The example, inside the success envelope with lists wrapped.
        found = _EXAMPLE.search(text)
        assert found
        body = json.loads(found[1])
        inner = body["trades_sold_get_response"]
        assert inner["request_id"]
        assert inner["total_results"] == method.example["total_results"]
        assert inner["trades"]["trade"][0]["tid"] == method.example["trades"][0]["tid"]

    async def test_alias_and_constraints_are_shown(self, new_browser: NewBrowser) -> None:
        browser = await _signed_in(new_browser)
        text = html.unescape((await browser.get("/developer/api/taobao.item.add")).text)
        assert "<code>location.state</code>" in text
        assert "one of: new, unused, second" in text

    async def test_method_without_session(self, new_browser: NewBrowser) -> None:
        browser = await _signed_in(new_browser)
        text = html.unescape((await browser.get("/developer/api/taobao.time.get")).text)
        assert "time_get_response" in text
        assert "Missing Session" not in text and "Invalid Signature" in text

    @pytest.mark.parametrize("name", [m.name for m in registry.methods()])
    async def test_every_method_page_renders(self, new_browser: NewBrowser, name: str) -> None:
        browser = await _signed_in(new_browser)
        response = await browser.get(f"/developer/api/{name}")
        assert response.status_code == 200
        found = _EXAMPLE.search(response.text)
        assert found
        assert envelope.root_name(name) in json.loads(html.unescape(found[1]))

    async def test_unknown_method_is_not_found(self, new_browser: NewBrowser) -> None:
        browser = await _signed_in(new_browser)
        response = await browser.get("/developer/api/taobao.nothing.get")
        assert response.status_code == 404

    async def test_anonymous_is_sent_to_sign_in(self, anon: Browser) -> None:
        response = await anon.get("/developer/api/taobao.time.get")
        assert response.status_code == 303
        assert response.headers["location"] == "/login?next=/developer/api/taobao.time.get"
