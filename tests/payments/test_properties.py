"""Random sequences of money movements keep the books balanced and nobody overdrawn."""

from __future__ import annotations

import itertools
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from mercato import ledger, payments
from mercato.kit.db import Database
from mercato.ledger.accounts import EXTERNAL_PREFIX
from mercato.models.ledger import LedgerAccount, LedgerEntry
from tests.ledger.helpers import new_user
from tests.payments.helpers import ensure_trades

_trade_ids = itertools.count(100_000)
_keys = itertools.count(1)

amounts = st.integers(min_value=1, max_value=5_000)
operation = st.one_of(
    st.tuples(st.just("deposit"), st.integers(0, 1), amounts),
    st.tuples(st.just("charge"), st.integers(0, 1), amounts),
    st.tuples(st.just("release"), st.integers(0, 5), st.sampled_from(["0", "0.05", "0.2"])),
    st.tuples(st.just("refund"), st.integers(0, 5), amounts),
)


async def _balances(db: Database) -> dict[str, int]:
    async with db.read() as s:
        rows = await s.execute(
            select(LedgerAccount.code, func.sum(LedgerEntry.amount))
            .join(LedgerEntry, LedgerEntry.account_id == LedgerAccount.id)
            .group_by(LedgerAccount.code)
        )
        return {code: int(total) for code, total in rows}


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(ops=st.lists(operation, min_size=1, max_size=8))
async def test_random_flows_keep_the_books(
    db: Database, ops: list[tuple[str, int, object]]
) -> None:
    # Fresh people and trades per example; the database carries over, the invariants hold
    # over everything in it.
    async with db.write() as s:
        buyers = [await new_user(s, "pb"), await new_user(s, "pb")]
        seller = await new_user(s, "ps")
    wallets = {b: 0 for b in buyers}
    trades: list[tuple[int, int]] = []  # (trade id, buyer)
    held: dict[int, int] = {}

    for op, index, arg in ops:
        key = f"p{next(_keys)}"
        async with db.write() as s:
            if op == "deposit":
                assert isinstance(arg, int)
                await ledger.deposit(s, buyers[index], arg, key=key)
                wallets[buyers[index]] += arg
            elif op == "charge":
                assert isinstance(arg, int)
                buyer, tid = buyers[index], next(_trade_ids)
                await ensure_trades(s, [tid])
                try:
                    await payments.charge_wallet(s, buyer, arg, trade_ids=[tid], key=key)
                except payments.InsufficientFunds:
                    assert wallets[buyer] < arg
                else:
                    wallets[buyer] -= arg
                    trades.append((tid, buyer))
                    held[tid] = arg
            elif trades:
                tid, buyer = trades[index % len(trades)]
                if op == "release":
                    amount = held[tid]
                    if amount:
                        commission = payments.commission_for(amount, Decimal(str(arg)))
                        await payments.release_to_seller(
                            s, trade_id=tid, seller_id=seller, amount=amount, commission=commission
                        )
                        held[tid] = 0
                else:
                    assert isinstance(arg, int)
                    try:
                        await payments.refund_to_buyer(
                            s, trade_id=tid, buyer_id=buyer, amount=arg, channel="wallet", key=key
                        )
                    except payments.EscrowShortfall:
                        assert held[tid] < arg
                    else:
                        held[tid] -= arg
                        wallets[buyer] += arg

    async with db.read() as s:
        assert await ledger.trial_balance(s) == 0
        assert await ledger.unbalanced_transactions(s) == []
        for buyer, expected in wallets.items():
            assert await ledger.balance(s, ledger.wallet(buyer)) == expected
        for tid, expected in held.items():
            assert await payments.escrow_held(s, tid) == expected
    for code, total in (await _balances(db)).items():
        if not code.startswith(EXTERNAL_PREFIX):
            assert total >= 0, code
