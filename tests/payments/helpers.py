"""Trades for payment tests. A payment records one ``payment_trades`` row per trade, which
references ``trades``: these tests, which care only about money, get bare trade rows with
the ids they name."""

from __future__ import annotations

import itertools
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.kit.clock import utcnow
from mercato.models import Trade
from tests.factories.catalog import make_seller

_sellers = itertools.count(1)


async def ensure_trades(session: AsyncSession, tids: Iterable[int], payment: int = 0) -> None:
    """Trade rows with these ids, made only where missing, in a throwaway shop."""
    wanted = sorted(set(tids))
    existing = set(await session.scalars(select(Trade.id).where(Trade.id.in_(wanted))))
    missing = [tid for tid in wanted if tid not in existing]
    if not missing:
        return
    seller, shop = await make_seller(session, f"payseller{next(_sellers)}")
    now = utcnow()
    session.add_all(
        Trade(
            id=tid,
            checkout_key=f"t{tid}",
            buyer_id=seller.id,
            seller_id=seller.id,
            shop_id=shop.id,
            created=now,
            modified=now,
            total_fee=payment,
            payment=payment,
            receiver_name="张三",
            receiver_mobile="13800138000",
            receiver_state="浙江省",
            receiver_city="杭州市",
            receiver_address="文三路 1 号",
        )
        for tid in missing
    )
    await session.flush()
