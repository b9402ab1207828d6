"""How many SQL statements one order costs through the pages: buy now, then pay from the
wallet. Throughput on PostgreSQL is bounded by statements per order (the flash-sale
benchmark's ``floor`` row measures that bound), so an order that quietly grows more
statements is a regression this test names. The budget is today's count (19 and 30 on
SQLite) plus a little."""

from __future__ import annotations

import re

from sqlalchemy import event

from mercato.kit.db import Database
from tests.factories.catalog import CatalogTree
from tests.web.conftest import Browser, NewBrowser, add_item
from tests.web.test_buyer import ADDRESS, _buyer

CHECKOUT_BUDGET = 21
PAY_BUDGET = 32


def _counting(db: Database) -> list[str]:
    seen: list[str] = []
    for engine in {db.write_engine, db.read_engine}:

        @event.listens_for(engine.sync_engine, "before_cursor_execute")
        def count(_conn, _cursor, statement, *_args) -> None:  # type: ignore[no-untyped-def]
            seen.append(statement)

    return seen


async def test_one_order_stays_within_its_statement_budget(
    seller: Browser, new_browser: NewBrowser, db: Database, tree: CatalogTree
) -> None:
    # given a buyer with money and an address, and an item
    item = await add_item(db, "alice", tree.item(price="20.00", approve_status="onsale"))
    buyer = await _buyer(new_browser, db, "carol", 100_000)
    await buyer.post("/addresses", ADDRESS)
    page = await buyer.get(f"/checkout?buy={item.id}:0:1")
    address = re.search(r'name="address_id" value="(\d+)" checked', page.text)
    assert address
    form = {"address_id": address[1], "buy": f"{item.id}:0:1"}
    # a first order warms up what is made once (ledger accounts)
    first = await buyer.post("/checkout", form | {"checkout_key": "warm"})
    await buyer.post("/pay", {"tids": first.headers["location"].split("=")[1]})
    seen = _counting(db)
    # when
    placed = await buyer.post("/checkout", form | {"checkout_key": "counted"})
    checkout = len(seen)
    paid = await buyer.post("/pay", {"tids": placed.headers["location"].split("=")[1]})
    # then
    assert placed.status_code == paid.status_code == 303
    assert paid.headers["location"] == "/trades?notice=paid"
    assert checkout <= CHECKOUT_BUDGET, seen[:checkout]
    assert len(seen) - checkout <= PAY_BUDGET, seen[checkout:]
