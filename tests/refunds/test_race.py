from __future__ import annotations

import asyncio

from sqlalchemy import func, select

from mercato.kit.errors import Conflict
from mercato.ledger.accounts import wallet
from mercato.ledger.service import balance, deposit, trial_balance
from mercato.models import Refund
from mercato.payments.service import escrow_held
from mercato.refunds import service as refunds
from mercato.trade import service as trade
from tests.trade.conftest import Shop2


async def test_one_open_refund_and_one_outcome_under_concurrency(w: Shop2) -> None:
    async with w.db.write() as session:
        t = (
            await trade.checkout(
                session,
                w.buyer,
                lines=[(w.dress.id, w.red_m.id, 2)],
                address_id=w.address.id,
                checkout_key="race",
            )
        )[0]
        await deposit(session, w.buyer.id, 10_000, key="dep-race")
        await trade.pay(session, w.buyer, [t.id], key="pay-race")
    oid = t.orders[0].id

    async def ask(i: int) -> int | None:
        try:
            async with w.db.write() as session:
                r = await refunds.request_refund(
                    session,
                    w.buyer,
                    tid=t.id,
                    oid=oid,
                    dispute_type="REFUND",
                    refund_fee=2000,
                    reason=f"race {i}",
                )
            return r.id
        except Conflict as exc:
            assert exc.code == "refund_open"
            return None

    asked = [rid for rid in await asyncio.gather(*(ask(i) for i in range(8))) if rid]
    assert len(asked) == 1
    rid = asked[0]

    async def act(i: int) -> str | None:
        try:
            async with w.db.write() as session:
                if i % 2:
                    await refunds.buyer_close(session, w.buyer, rid)
                    return "closed"
                await refunds.seller_agree(session, w.alice, rid)
                return "agreed"
        except Conflict as exc:
            assert exc.code == "illegal_transition"
            return None

    outcomes = [o for o in await asyncio.gather(*(act(i) for i in range(10))) if o]
    assert len(outcomes) == 1
    async with w.db.read() as session:
        assert await session.scalar(select(func.count()).select_from(Refund)) == 1
        refunded = outcomes[0] == "agreed"
        assert await balance(session, wallet(w.buyer.id)) == (10_000 if refunded else 8_000)
        assert await escrow_held(session, t.id) == (0 if refunded else 2000)
        assert await trial_balance(session) == 0
