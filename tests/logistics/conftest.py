from __future__ import annotations

from dataclasses import dataclass

import pytest
from sqlalchemy import func, select

from mercato.kit.db import Database
from mercato.ledger.service import deposit
from mercato.logistics.carriers import ensure_carriers
from mercato.models import Shipment, TrackingEvent, Trade
from mercato.trade import service as trade
from tests.trade.conftest import Shop2, counts
from tests.trade.conftest import w as w


@dataclass
class Paid:
    w: Shop2
    tid: int
    oids: list[int]  # the trade's two orders: red/M and blue/L of alice's dress


async def checkout(w: Shop2, key: str) -> int:
    """An unpaid trade of alice's with two orders, and money in the buyer's wallet."""
    async with w.db.write() as session:
        # The PostgreSQL fixture truncates every table, reference data included.
        await ensure_carriers(session)
        trades = await trade.checkout(
            session,
            w.buyer,
            lines=[(w.dress.id, w.red_m.id, 1), (w.dress.id, w.blue_l.id, 1)],
            address_id=w.address.id,
            checkout_key=key,
        )
        await deposit(session, w.buyer.id, 100_000, key=f"dep-{key}")
    assert len(trades) == 1
    return trades[0].id


@pytest.fixture
async def paid(w: Shop2) -> Paid:
    tid = await checkout(w, "paid")
    async with w.db.write() as session:
        await trade.pay(session, w.buyer, [tid], key="pay-paid")
    t = await get_trade(w.db, tid)
    return Paid(w, tid, [o.id for o in t.orders])


async def get_trade(db: Database, tid: int) -> Trade:
    async with db.read() as session:
        t = await session.get(Trade, tid)
        assert t is not None
        return t


async def all_counts(db: Database) -> dict[str, object]:
    """What must not move when a shipping call is refused."""
    out: dict[str, object] = dict(await counts(db))
    async with db.read() as session:
        for model in (Shipment, TrackingEvent):
            out[model.__tablename__] = await session.scalar(select(func.count()).select_from(model))
        for t in await session.scalars(select(Trade).order_by(Trade.id)):
            out[f"orders:{t.id}"] = [
                (o.status, o.logistics_company, o.invoice_no, o.consign_time) for o in t.orders
            ]
    return out
