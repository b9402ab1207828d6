"""The console's sandbox page: every form drives a trade through the services and shows
the result or the refusal inline; the clock form moves the shared clock and runs the timers;
developers only, CSRF-checked, and nothing at all when the sandbox tools are off."""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from mercato.app import create_app
from mercato.config import Settings
from mercato.kit.db import Database
from mercato.ledger import service as ledger
from mercato.models import Item, Role, Trade
from mercato.trade import service as trade
from tests.factories.accounts import make_user
from tests.factories.catalog import CatalogTree
from tests.trade.conftest import address_input
from tests.web.conftest import Browser, NewBrowser, add_item

_TID = re.compile(r"data-tid>(\d+)<")
_STATUS = re.compile(r"data-status>(\w+)<")


@dataclass
class Console:
    dev: Browser  # a developer on the sandbox page
    item: Item  # alice's, 20.00, no SKUs


@pytest.fixture
async def console(
    seller: Browser, new_browser: NewBrowser, db: Database, tree: CatalogTree
) -> Console:
    """alice's item (the seller fixture's shop), carol (a buyer with an address and money)
    and a developer who has opened the sandbox page."""
    item = await add_item(db, "alice", tree.item(price="20.00", approve_status="onsale"))
    async with db.write() as session:
        carol = await make_user(session, "carol")
        await trade.add_address(session, carol, address_input())
        await ledger.deposit(session, carol.id, 100_000, key="sandbox-page")
        await make_user(session, "dev", {Role.developer})
    dev = await new_browser()
    await dev.sign_in("dev")
    await dev.get("/developer/sandbox")
    return Console(dev, item)


async def _status(db: Database, tid: int) -> str:
    async with db.read() as session:
        row = await session.get(Trade, tid)
    assert row is not None
    return row.status


def _result(response: httpx.Response) -> tuple[int, str]:
    assert response.status_code == 200, response.text
    tid, status = _TID.search(response.text), _STATUS.search(response.text)
    assert tid and status, response.text
    return int(tid[1]), status[1]


async def test_the_page_shows_the_clock_and_who_to_act_as(console: Console) -> None:
    dev, item = console.dev, console.item
    page = await dev.get("/developer/sandbox")
    assert page.status_code == 200
    assert 'data-offset-seconds="0"' in page.text and "沙箱时间 Sandbox time" in page.text
    assert '<code class="cast-buyer">carol</code>' in page.text
    assert f"<code>{item.id}</code>" in page.text and "<code>alice</code>" in page.text
    assert 'href="/developer/sandbox" class="on"' in page.text
    assert 'href="/developer/sandbox"' in (await dev.get("/developer")).text


async def test_order_ship_confirm_and_refund_through_the_forms(
    console: Console, db: Database
) -> None:
    dev, item = console.dev, console.item
    # order without paying, then pay
    placed = await dev.post(
        "/developer/sandbox/order", {"buyer": "carol", "num_iid": str(item.id), "sku_id": ""}
    )
    tid, status = _result(placed)
    assert status == "WAIT_BUYER_PAY" == await _status(db, tid)
    assert f'name="tid" value="{tid}"' in placed.text  # the next forms take the new trade
    assert _result(await dev.post("/developer/sandbox/pay", {"buyer": "carol", "tid": tid})) == (
        tid,
        "WAIT_SELLER_SEND_GOODS",
    )
    shipped = await dev.post("/developer/sandbox/ship", {"tid": tid, "company": "ZTO"})
    assert _result(shipped)[1] == "WAIT_BUYER_CONFIRM_GOODS" and "ZTO 3" in shipped.text
    confirmed = await dev.post("/developer/sandbox/confirm", {"buyer": "carol", "tid": tid})
    assert _result(confirmed)[1] == "TRADE_FINISHED" == await _status(db, tid)
    # an order paid at once, then refunded in part
    paid = await dev.post(
        "/developer/sandbox/order", {"buyer": "carol", "num_iid": item.id, "pay": "1"}
    )
    other, status = _result(paid)
    assert status == "WAIT_SELLER_SEND_GOODS"
    refund = await dev.post(
        "/developer/sandbox/refund",
        {"buyer": "carol", "tid": other, "amount": "5.00", "reason": "不想要了"},
    )
    assert refund.status_code == 200, refund.text
    assert re.search(r"data-refund-id>\d+<", refund.text) and "¥5.00" in refund.text
    assert "WAIT_SELLER_AGREE" in refund.text


async def test_refusals_are_shown_inline(console: Console, db: Database) -> None:
    dev, item = console.dev, console.item
    ghost = await dev.post("/developer/sandbox/order", {"buyer": "ghost", "num_iid": item.id})
    assert ghost.status_code == 404 and "no user ghost" in ghost.text
    assert 'name="buyer" value="ghost"' in ghost.text  # what was typed stays
    placed = await dev.post("/developer/sandbox/order", {"buyer": "carol", "num_iid": item.id})
    tid, _ = _result(placed)
    early = await dev.post("/developer/sandbox/confirm", {"buyer": "carol", "tid": tid})
    assert early.status_code == 409 and "sandbox-error" in early.text
    typo = await dev.post("/developer/sandbox/ship", {"tid": "12x"})
    assert typo.status_code == 422 and "whole number" in typo.text
    unknown = await dev.post("/developer/sandbox/explode", {})
    assert unknown.status_code == 404
    assert await _status(db, tid) == "WAIT_BUYER_PAY"


async def test_the_clock_form_runs_the_timers_and_resets(console: Console, db: Database) -> None:
    dev, item = console.dev, console.item
    tid, _ = _result(
        await dev.post("/developer/sandbox/order", {"buyer": "carol", "num_iid": item.id})
    )
    bad = await dev.post("/developer/sandbox/clock", {"advance": "-1d"})
    assert bad.status_code == 422 and "not a duration" in bad.text
    moved = await dev.post("/developer/sandbox/clock", {"advance": "1h"})
    assert moved.status_code == 200 and 'data-offset-seconds="3600"' in moved.text
    assert re.search(r"data-jobs-run>[1-9]", moved.text)
    assert await _status(db, tid) == "TRADE_CLOSED_BY_TAOBAO"
    reset = await dev.post("/developer/sandbox/clock", {"reset": "1"})
    assert 'data-offset-seconds="0"' in reset.text


async def test_csrf_is_enforced(console: Console, db: Database) -> None:
    dev, item = console.dev, console.item
    forged = await dev.post(
        "/developer/sandbox/order", {"buyer": "carol", "num_iid": item.id}, csrf=False
    )
    assert forged.status_code == 403
    clock = await dev.post("/developer/sandbox/clock", {"advance": "1d"}, csrf=False)
    assert clock.status_code == 403
    async with db.read() as session:
        assert await session.get(Trade, 1) is None
    assert 'data-offset-seconds="0"' in (await dev.get("/developer/sandbox")).text


async def test_developers_only(anon: Browser, new_browser: NewBrowser) -> None:
    response = await anon.get("/developer/sandbox")
    assert response.status_code == 303 and response.headers["location"].startswith("/login")
    buyer = await new_browser()
    await buyer.sign_up("nobody")
    assert (await buyer.get("/developer/sandbox")).status_code == 403
    posted = await buyer.post("/developer/sandbox/clock", {"advance": "1d"})
    assert posted.status_code == 403


async def test_refused_when_the_sandbox_tools_are_off(
    tmp_path: Path, sqlite_template: Path
) -> None:
    data_dir = tmp_path / "off"
    data_dir.mkdir()
    shutil.copyfile(sqlite_template, data_dir / "mercato.db")
    settings = Settings(data_dir=data_dir, secret_key="test-secret-key", sandbox_tools=False)
    app: FastAPI = create_app(settings)
    async with app.router.lifespan_context(app):
        assert app.state.clock is None  # the servers do not follow a sandbox clock either
        async with app.state.db.write() as session:
            await make_user(session, "dev", {Role.developer})
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            dev = Browser(client)
            await dev.sign_in("dev")
            page = await dev.get("/developer/sandbox")
            assert page.status_code == 403 and "MERCATO_SANDBOX_TOOLS=false" in page.text
            posted = await dev.post("/developer/sandbox/clock", {"advance": "1d"})
            assert posted.status_code == 403
