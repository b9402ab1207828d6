"""Commission per category: a category's own rate, else its nearest ancestor's, else the
MERCATO_COMMISSION_RATE setting; releases use each order's category; the operator sets rates
with ``mercato commission``."""

from __future__ import annotations

import asyncio
import shutil
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from typer.testing import CliRunner

from mercato import ledger, payments
from mercato.catalog import service as catalog
from mercato.cli import app as cli
from mercato.kit.db import Database
from mercato.kit.errors import NotFound
from mercato.ledger import COMMISSION, ESCROW
from mercato.models import Category, Trade
from mercato.trade import service as trade
from tests.factories.catalog import CatalogTree, make_catalog
from tests.trade.conftest import Shop2

D = Decimal


async def _rates(db: Database, tree: CatalogTree, default: Decimal) -> dict[str, Decimal]:
    async with db.read() as session:
        return {
            name: await payments.commission_rate(session, category.id, default=default)
            for name, category in (
                ("clothing", tree.clothing),
                ("dresses", tree.dresses),
                ("tops", tree.tops),
                ("digital", tree.digital),
                ("phones", tree.phones),
            )
        }


async def test_a_category_inherits_its_nearest_ancestors_rate(db: Database) -> None:
    async with db.write() as session:
        tree = await make_catalog(session)
    default = D("0.05")
    # given: nothing set, everything pays the default
    assert set((await _rates(db, tree, default)).values()) == {default}
    # when: clothing gets 3 %, and dresses (under clothing) its own 8 %
    async with db.write() as session:
        await payments.set_commission_rate(session, tree.clothing.id, D("0.03"))
        await payments.set_commission_rate(session, tree.dresses.id, D("0.08"))
    # then: tops inherits clothing's, the digital branch keeps the default
    assert await _rates(db, tree, default) == {
        "clothing": D("0.03"),
        "dresses": D("0.08"),
        "tops": D("0.03"),
        "digital": default,
        "phones": default,
    }
    # when: dresses goes back to inheriting, and clothing is set to 0
    async with db.write() as session:
        await payments.set_commission_rate(session, tree.dresses.id, None)
        await payments.set_commission_rate(session, tree.clothing.id, D("0"))
    rates = await _rates(db, tree, default)
    assert rates["dresses"] == rates["tops"] == D(0)  # 0 is a rate, not "unset"
    async with db.read() as session:
        stored = await session.get(Category, tree.clothing.id)
        assert stored is not None and stored.commission_rate == 0  # basis points
        # No category (or a vanished one) pays the default rather than failing a release.
        assert await payments.commission_rate(session, None, default=default) == default
        assert await payments.commission_rate(session, 10**9, default=default) == default


async def test_the_root_default_comes_from_the_setting(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with db.write() as session:
        tree = await make_catalog(session)
    monkeypatch.setenv("MERCATO_COMMISSION_RATE", "0.07")
    payments.default_commission_rate.cache_clear()
    try:
        async with db.read() as session:
            assert await payments.commission_rate(session, tree.phones.id) == D("0.07")
    finally:
        monkeypatch.undo()
        payments.default_commission_rate.cache_clear()
    assert payments.default_commission_rate() == D("0.05")


@pytest.mark.parametrize("bad", [D("1.01"), D("-0.01"), D("0.00005"), D("NaN"), D("Infinity")])
async def test_bad_rates_are_refused_and_change_nothing(db: Database, bad: Decimal) -> None:
    async with db.write() as session:
        tree = await make_catalog(session)
        await payments.set_commission_rate(session, tree.clothing.id, D("0.03"))
    with pytest.raises(ValueError):
        async with db.write() as session:
            await payments.set_commission_rate(session, tree.clothing.id, bad)
    with pytest.raises(NotFound):
        async with db.write() as session:
            await payments.set_commission_rate(session, 10**9, D("0.03"))
    async with db.read() as session:
        stored = await session.get(Category, tree.clothing.id)
        assert stored is not None and stored.commission_rate == 300


def test_parse_rate() -> None:
    assert payments.parse_rate(" 0.03 ") == D("0.03")
    assert payments.parse_rate("1") == D(1)
    for bad in ("abc", "", "5%", "0.12345", "2"):
        with pytest.raises(ValueError):
            payments.parse_rate(bad)


async def test_release_uses_each_orders_category_rate(w: Shop2) -> None:
    # given: dresses 10 %, clothing 3 % (tops inherit it), digital 2 % (phones inherit it)
    async with w.db.write() as session:
        await payments.set_commission_rate(session, w.tree.dresses.id, D("0.10"))
        await payments.set_commission_rate(session, w.tree.clothing.id, D("0.03"))
        await payments.set_commission_rate(session, w.tree.digital.id, D("0.02"))
        top = await _alice_top(session, w)
        await ledger.deposit(session, w.buyer.id, 200_000, key="top-up")
        # Alice's trade holds a dress (10.00, dresses) and a top (50.00, tops); Bob's a
        # phone (999.00, phones).
        trades = await trade.checkout(
            session,
            w.buyer,
            lines=[(w.dress.id, w.red_m.id, 1), (top, 0, 1), (w.phone.id, 0, 1)],
            address_id=w.address.id,
            checkout_key="two-rates",
        )
        await trade.pay(session, w.buyer, [t.id for t in trades], key="pay")
    alice_tid = next(t.id for t in trades if t.seller_id == w.alice.id)
    bob_tid = next(t.id for t in trades if t.seller_id == w.bob.id)
    # when: both trades ship and the buyer confirms receipt
    async with w.db.write() as session:
        await trade.ship(session, w.alice, alice_tid)
        await trade.ship(session, w.bob, bob_tid)
    async with w.db.write() as session:
        await trade.confirm_receipt(session, w.buyer, alice_tid)
        await trade.confirm_receipt(session, w.buyer, bob_tid)
    # then: 1000 × 10 % + 5000 × 3 % = 250 for Alice's trade, 99900 × 2 % = 1998 for Bob's
    async with w.db.read() as session:
        assert await ledger.balance(session, ledger.seller(w.alice.id)) == 6000 - 250
        assert await ledger.balance(session, ledger.seller(w.bob.id)) == 99900 - 1998
        assert await ledger.balance(session, COMMISSION) == 250 + 1998
        assert await ledger.balance(session, ESCROW) == 0
        assert await ledger.trial_balance(session) == 0
        rows = await session.execute(select(Trade.id, Trade.commission_fee))
        fees = {tid: fee for tid, fee in rows}
    assert fees == {alice_tid: 250, bob_tid: 1998}


async def _alice_top(session: AsyncSession, w: Shop2) -> int:
    """Alice's top, in "tops" (which has no rate of its own)."""
    item = await catalog.create_item(
        session,
        w.alice,
        w.tree.item(
            title="上衣",
            category_id=w.tree.tops.id,
            props={},
            price="50.00",
            approve_status="onsale",
        ),
    )
    return item.id


def test_cli_sets_and_lists_rates(
    tmp_path: Path, sqlite_template: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given: a migrated data dir with the test catalog
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    shutil.copyfile(sqlite_template, data_dir / "mercato.db")
    monkeypatch.setenv("MERCATO_DATA_DIR", str(data_dir))  # restored after the test
    database = Database(f"sqlite+aiosqlite:///{data_dir / 'mercato.db'}")

    async def make() -> CatalogTree:
        try:
            async with database.write() as session:
                return await make_catalog(session)
        finally:
            await database.dispose()

    tree = asyncio.run(make())
    runner = CliRunner()
    args = ["--data-dir", str(data_dir)]
    # when: the operator sets clothing to 3 %
    done = runner.invoke(
        cli, ["commission", "set", "--category", str(tree.clothing.id), "--rate", "0.03", *args]
    )
    assert done.exit_code == 0, done.output
    assert "0.03" in done.output
    # then: the list shows clothing's own rate and tops inheriting it
    listing = runner.invoke(cli, ["commission", "list", *args])
    assert listing.exit_code == 0, listing.output
    rows = {line.split("│")[1].strip(): line for line in listing.output.splitlines() if "│" in line}
    assert "0.03" in rows[str(tree.clothing.id)] and "0.03" in rows[str(tree.tops.id)]
    assert "inherit" in rows[str(tree.tops.id)] and "0.05" in rows[str(tree.phones.id)]
    # Bad input: a clear error, exit code, nothing changed.
    bad = runner.invoke(
        cli, ["commission", "set", "--category", str(tree.clothing.id), "--rate", "3%", *args]
    )
    assert bad.exit_code == 2 and "not a number" in bad.output
    missing = runner.invoke(
        cli, ["commission", "set", "--category", "999999", "--rate", "0.1", *args]
    )
    assert missing.exit_code == 1 and "does not exist" in missing.output
    inherit = runner.invoke(
        cli, ["commission", "set", "--category", str(tree.clothing.id), "--rate", "inherit", *args]
    )
    assert inherit.exit_code == 0 and "inherited" in inherit.output
