"""Releasing escrow to sellers (less commission) and refunding buyers."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mercato import ledger, payments
from mercato.kit.db import Database
from mercato.ledger import COMMISSION, ESCROW, SANDBOX_CHANNEL
from tests.ledger.helpers import new_user
from tests.payments.helpers import ensure_trades


async def _paid_trade(db: Database, amount: int, trade_id: int) -> tuple[int, int]:
    async with db.write() as s:
        buyer = await new_user(s, "buyer")
        seller = await new_user(s, "seller")
        await ledger.deposit(s, buyer, amount, key=f"seed-{buyer}")
        await ensure_trades(s, [trade_id])
        await payments.charge_wallet(s, buyer, amount, trade_ids=[trade_id], key=f"t{trade_id}")
    return buyer, seller


def test_commission_for_rounds_half_up() -> None:
    rate = Decimal("0.05")
    assert payments.commission_for(10, rate) == 1  # 0.5 → 1
    assert payments.commission_for(9, rate) == 0  # 0.45 → 0
    assert payments.commission_for(30, rate) == 2  # 1.5 → 2
    assert payments.commission_for(19900, rate) == 995
    assert payments.commission_for(0, rate) == 0
    assert payments.commission_for(333, Decimal("0.015")) == 5  # 4.995 → 5
    for bad_rate in (Decimal("-0.01"), Decimal("1.5"), Decimal("NaN")):
        with pytest.raises(ValueError):
            payments.commission_for(100, bad_rate)
    with pytest.raises(ValueError):
        payments.commission_for(100, 0.05)
    with pytest.raises(ValueError):
        payments.commission_for(-1, rate)


@given(
    amount=st.integers(min_value=0, max_value=10**12),
    rate=st.decimals(min_value=0, max_value=Decimal("0.2"), places=4),
)
def test_commission_and_payout_add_up(amount: int, rate: Decimal) -> None:
    commission = payments.commission_for(amount, rate)
    payout = amount - commission
    assert payout + commission == amount
    assert 0 <= commission <= amount
    assert abs(Decimal(commission) - Decimal(amount) * rate) <= Decimal("0.5")


async def test_release_splits_commission(db: Database) -> None:
    _, seller = await _paid_trade(db, 19990, trade_id=7)
    commission = payments.commission_for(19990, Decimal("0.05"))
    assert commission == 1000  # 999.5 rounds half up
    async with db.write() as s:
        await payments.release_to_seller(
            s, trade_id=7, seller_id=seller, amount=19990, commission=commission
        )
        # A retry of the confirm-receipt request releases nothing more.
        await payments.release_to_seller(
            s, trade_id=7, seller_id=seller, amount=19990, commission=commission
        )
    async with db.read() as s:
        assert await ledger.balance(s, ledger.seller(seller)) == 18990
        assert await ledger.balance(s, COMMISSION) == 1000
        assert await ledger.balance(s, ESCROW) == 0
        assert await payments.escrow_held(s, 7) == 0
        assert await ledger.trial_balance(s) == 0
        release = await ledger.transaction_by_key(s, "release:7")
        assert release is not None and release.trade_id == 7 and len(release.entries) == 3


async def test_release_with_zero_commission_and_bad_arguments(db: Database) -> None:
    _, seller = await _paid_trade(db, 500, trade_id=8)
    async with db.write() as s:
        for amount, commission in ((500, -1), (500, 501), (0, 0), (-5, 0)):
            with pytest.raises(ValueError):
                await payments.release_to_seller(
                    s, trade_id=8, seller_id=seller, amount=amount, commission=commission
                )
        await payments.release_to_seller(s, trade_id=8, seller_id=seller, amount=500, commission=0)
    async with db.read() as s:
        assert await ledger.balance(s, ledger.seller(seller)) == 500
        assert await ledger.balance(s, COMMISSION) == 0


async def test_release_more_than_held_refused(db: Database) -> None:
    _, seller = await _paid_trade(db, 500, trade_id=9)
    with pytest.raises(payments.EscrowShortfall) as info:
        async with db.write() as s:
            await payments.release_to_seller(
                s, trade_id=9, seller_id=seller, amount=501, commission=25
            )
    assert info.value.code == "escrow_insufficient"
    async with db.read() as s:
        assert await payments.escrow_held(s, 9) == 500


async def test_refund_to_wallet_partial_then_too_much(db: Database) -> None:
    buyer, seller = await _paid_trade(db, 1000, trade_id=10)
    async with db.write() as s:
        await payments.refund_to_buyer(
            s, trade_id=10, buyer_id=buyer, amount=400, channel="wallet", key="r1"
        )
        await payments.refund_to_buyer(  # retried: once
            s, trade_id=10, buyer_id=buyer, amount=400, channel="wallet", key="r1"
        )
    with pytest.raises(payments.EscrowShortfall):
        async with db.write() as s:
            await payments.refund_to_buyer(
                s, trade_id=10, buyer_id=buyer, amount=601, channel="wallet", key="r2"
            )
    async with db.read() as s:
        assert await payments.escrow_held(s, 10) == 600
        assert await ledger.balance(s, ledger.wallet(buyer)) == 400
    # The rest goes to the seller; after that nothing is left to refund.
    async with db.write() as s:
        await payments.release_to_seller(
            s, trade_id=10, seller_id=seller, amount=600, commission=30
        )
    with pytest.raises(payments.EscrowShortfall):
        async with db.write() as s:
            await payments.refund_to_buyer(
                s, trade_id=10, buyer_id=buyer, amount=1, channel="wallet", key="r3"
            )
    async with db.write() as s:
        with pytest.raises(ValueError):
            await payments.refund_to_buyer(
                s, trade_id=10, buyer_id=buyer, amount=1, channel="cash", key="r4"
            )
    async with db.read() as s:
        assert await ledger.trial_balance(s) == 0
        assert await ledger.balance(s, ESCROW) == 0


async def test_refund_of_sandbox_payment_goes_back_to_the_channel(db: Database) -> None:
    async with db.write() as s:
        buyer = await new_user(s, "buyer")
        await ensure_trades(s, [20])
        payment = await payments.start_sandbox(s, buyer, 800, trade_ids=[20], key="sb-20")
    async with db.write() as s:
        _, changed = await payments.confirm_sandbox(
            s,
            secret="x",
            **payments.callback_for("x", payment, "paid"),
        )
        assert changed
        await payments.refund_to_buyer(
            s, trade_id=20, buyer_id=buyer, amount=800, channel="sandbox", key="refund-20"
        )
    async with db.read() as s:
        assert await ledger.balance(s, SANDBOX_CHANNEL) == 0
        assert await ledger.balance(s, ESCROW) == 0
        assert await ledger.balance(s, ledger.wallet(buyer)) == 0


async def test_concurrent_release_and_refund_take_escrow_once(db: Database) -> None:
    buyer, seller = await _paid_trade(db, 1000, trade_id=30)

    async def release() -> bool:
        try:
            async with db.write() as s:
                await payments.release_to_seller(
                    s, trade_id=30, seller_id=seller, amount=1000, commission=50
                )
        except payments.EscrowShortfall:
            return False
        return True

    async def refund(key: str) -> bool:
        try:
            async with db.write() as s:
                await payments.refund_to_buyer(
                    s, trade_id=30, buyer_id=buyer, amount=1000, channel="wallet", key=key
                )
        except payments.EscrowShortfall:
            return False
        return True

    # A repeated release is a quiet no-op (same key), so race one release against two
    # refunds with different keys: whichever comes first empties the escrow.
    results = await asyncio.gather(refund("r30a"), release(), refund("r30b"))
    assert results.count(True) == 1
    async with db.read() as s:
        assert await payments.escrow_held(s, 30) == 0
        assert await ledger.trial_balance(s) == 0
