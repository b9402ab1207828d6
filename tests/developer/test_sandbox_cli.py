"""``mercato sandbox order | pay | ship | confirm | refund | clock`` on every backend: the
commands drive the trade world through the services, print JSON for scripts, and fail with
the domain's error and exit code 1."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession
from typer.testing import CliRunner

from mercato.cli import app as cli
from mercato.kit.db import Database
from mercato.ledger.service import deposit
from mercato.logistics.carriers import ensure_carriers
from mercato.models import Trade
from tests.trade.conftest import Shop2


@pytest.fixture
def world(w: Shop2, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Shop2:
    """The trade world, with carriers and money in carol's wallet; the commands use its
    database (SQLite or PostgreSQL) through the environment."""

    async def prepare(session: AsyncSession) -> None:
        await ensure_carriers(session)  # the PostgreSQL fixture truncates reference data
        await deposit(session, w.buyer.id, 100_000, key="cli-test")

    _in_own_loop(w, prepare)
    monkeypatch.setenv("MERCATO_DATABASE_URL", _url(w))
    monkeypatch.setenv("MERCATO_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("MERCATO_SECRET_KEY", "cli-test-secret")
    return w


def _url(w: Shop2) -> str:
    return w.db.url.render_as_string(hide_password=False)


def _in_own_loop(w: Shop2, work: Callable[[AsyncSession], Awaitable[Any]]) -> Any:
    """Run ``work`` in a write unit on a database handle of its own: these tests are not
    async (the commands run their own event loop), and the fixture's pool belongs to the
    fixture's loop."""

    async def run() -> Any:
        database = Database(_url(w))
        try:
            async with database.write() as session:
                return await work(session)
        finally:
            await database.dispose()

    return asyncio.run(run())


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["sandbox", *args])
    return result.exit_code, result.output


def _json(*args: str) -> dict[str, Any]:
    code, out = _run(*args, "--json")
    assert code == 0, out
    return dict(json.loads(out))


def _error(*args: str) -> dict[str, Any]:
    code, out = _run(*args, "--json")
    assert code == 1, out
    return dict(json.loads(out))


def _order(w: Shop2, *more: str) -> int:
    placed = _json("order", "--buyer", "carol", "--num-iid", str(w.dress.id),
                   "--sku-id", str(w.red_m.id), *more)  # fmt: skip
    return int(placed["tid"])


def _status(w: Shop2, tid: int) -> str:
    async def read(session: AsyncSession) -> str:
        row = await session.get(Trade, tid)
        assert row is not None
        return row.status

    return str(_in_own_loop(w, read))


def test_order_pay_ship_confirm(world: Shop2) -> None:
    tid = _order(world)
    assert _status(world, tid) == "WAIT_BUYER_PAY"
    paid = _json("pay", "--buyer", "carol", "--tid", str(tid))
    assert paid == {"tid": tid, "status": "WAIT_SELLER_SEND_GOODS", "payment": "10.00"}
    shipped = _json("ship", "--tid", str(tid), "--company", "YTO")
    assert shipped["status"] == "WAIT_BUYER_CONFIRM_GOODS" and shipped["company"] == "YTO"
    assert shipped["waybill"].startswith("YT")
    done = _json("confirm", "--buyer", "carol", "--tid", str(tid))
    assert done["status"] == _status(world, tid) == "TRADE_FINISHED"


def test_order_keeps_its_options_and_output(world: Shop2) -> None:
    code, out = _run("order", "--buyer", "carol", "--num-iid", str(world.dress.id),
                     "--sku-id", str(world.blue_l.id), "--quantity", "2", "--pay")  # fmt: skip
    assert code == 0, out
    assert out.startswith("trade ") and "WAIT_SELLER_SEND_GOODS, ¥25.00" in out
    # without money in the wallet the whole order is refused
    error = _error("order", "--buyer", "carol", "--num-iid", str(world.phone.id), "--pay")
    assert "wallet" in error["detail"]


def test_ship_with_a_given_waybill(world: Shop2) -> None:
    tid = _order(world, "--pay")
    code, out = _run("ship", "--tid", str(tid), "--company", "SF", "--waybill", "sf123456789012")
    assert code == 0, out
    assert out.strip() == f"trade {tid}: WAIT_BUYER_CONFIRM_GOODS, SF SF123456789012"


def test_refund_the_whole_trade_and_one_order(world: Shop2) -> None:
    tid = _order(world, "--pay")
    made = _json("refund", "--buyer", "carol", "--tid", str(tid))
    assert made["status"] == "WAIT_SELLER_AGREE" and made["refund_id"] == made["refund_ids"][0]
    assert made["refund_fee"] == "10.00"
    # one order, part of it, goods sent back
    other = _order(world, "--pay")
    _json("ship", "--tid", str(other))
    code, out = _run("refund", "--buyer", "carol", "--tid", str(other), "--amount", "2.50",
                     "--reason", "尺码不合适", "--return-goods")  # fmt: skip
    assert code == 0, out
    assert "WAIT_SELLER_AGREE, ¥2.50" in out


def test_clock_closes_unpaid_trades_and_resets(world: Shop2) -> None:
    # given an unpaid trade and the wall clock
    tid = _order(world)
    shown = _json("clock")
    assert shown["offset_seconds"] == 0 and shown["jobs_run"] == 0
    # when the clock moves past the close timer
    moved = _json("clock", "--advance", "31m")
    # then the trade is closed by the time the command returns
    assert moved["offset_seconds"] == 31 * 60 and moved["jobs_run"] >= 1
    assert _status(world, tid) == "TRADE_CLOSED_BY_TAOBAO"
    assert _json("clock")["offset_seconds"] == 31 * 60  # stored, not kept in the command
    assert _json("clock", "--reset")["offset_seconds"] == 0


def test_a_fresh_process_sees_the_advanced_clock(world: Shop2) -> None:
    _json("clock", "--advance", "2d")
    out = subprocess.run(
        [sys.executable, "-m", "mercato.cli", "sandbox", "clock", "--json"],
        env=dict(os.environ),
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert json.loads(out)["offset_seconds"] == 2 * 86400


@pytest.mark.parametrize("duration", ["=-3d", "=3x", "=90", "=0s"])
def test_malformed_durations_are_refused(world: Shop2, duration: str) -> None:
    error = _error("clock", f"--advance{duration}")
    assert error["error"] == "invalid" and error["problems"][0]["field"] == "advance"
    assert _json("clock")["offset_seconds"] == 0
    code, out = _run("clock", "--advance", "3 days")
    assert code == 1 and "not a duration" in out


def test_domain_errors_exit_1(world: Shop2) -> None:
    tid = _order(world, "--pay")
    # an unknown buyer
    error = _error("order", "--buyer", "ghost", "--num-iid", str(world.dress.id))
    assert (error["error"], error["detail"]) == ("not_found", "no user ghost")
    code, out = _run("confirm", "--buyer", "ghost", "--tid", str(tid))
    assert code == 1 and "no user ghost" in out
    # someone else's trade
    assert _error("pay", "--buyer", "dave", "--tid", str(tid))["error"] == "not_found"
    assert _error("refund", "--buyer", "dave", "--tid", str(tid))["error"] == "not_found"
    # confirming a trade not yet shipped
    assert _error("confirm", "--buyer", "carol", "--tid", str(tid))["error"] == "illegal_transition"
    # a bad amount, an unknown carrier, an unknown trade
    bad = _error("refund", "--buyer", "carol", "--tid", str(tid), "--amount", "abc")
    assert bad["problems"][0]["field"] == "amount"
    unknown = _error("ship", "--tid", str(tid), "--company", "NOPE")
    assert unknown["problems"][0]["rule"] == "unknown_company"
    assert _error("ship", "--tid", "999999")["error"] == "not_found"
    assert _status(world, tid) == "WAIT_SELLER_SEND_GOODS"


def test_the_setting_turns_the_commands_off(world: Shop2, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MERCATO_SANDBOX_TOOLS", "false")
    for args in (["clock"], ["clock", "--advance", "1d"], ["ship", "--tid", "1"]):
        assert _error(*args)["error"] == "sandbox_disabled"
    code, out = _run("order", "--buyer", "carol", "--num-iid", str(world.dress.id))
    assert code == 1 and "MERCATO_SANDBOX_TOOLS=false" in out
