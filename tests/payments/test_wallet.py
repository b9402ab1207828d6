"""Wallet payments: wallet → escrow, never overdrawn, once per key."""

from __future__ import annotations

import asyncio

import pytest

from mercato import ledger, payments
from mercato.kit.db import Database
from mercato.ledger import ESCROW
from mercato.models.ledger import Payment
from tests.ledger.helpers import new_user
from tests.payments.helpers import ensure_trades

# The trade ids the tests in this file pay for.
TRADE_IDS = [1, 2, 5, 11, *range(1000, 1020)]


async def _funded_buyer(db: Database, amount: int) -> int:
    async with db.write() as s:
        buyer = await new_user(s, "buyer")
        await ledger.deposit(s, buyer, amount, key=f"seed-{buyer}")
        await ensure_trades(s, TRADE_IDS)
    return buyer


async def _payments(db: Database) -> list[Payment]:
    from sqlalchemy import select

    async with db.read() as s:
        return list(await s.scalars(select(Payment).order_by(Payment.id)))


async def test_charge_wallet_moves_money_into_escrow(db: Database) -> None:
    buyer = await _funded_buyer(db, 1000)
    async with db.write() as s:
        payment = await payments.charge_wallet(s, buyer, 600, trade_ids=[11], key="co-1")
        assert payment.status == "paid" and payment.channel == "wallet"
        assert payment.external_ref == "co-1" and payment.trade_ids == "11"
        assert payment.paid_at is not None
    async with db.read() as s:
        assert await ledger.balance(s, ledger.wallet(buyer)) == 400
        assert await ledger.balance(s, ESCROW) == 600
        assert await payments.escrow_held(s, 11) == 600
        assert await ledger.trial_balance(s) == 0


async def test_insufficient_funds_changes_nothing(db: Database) -> None:
    buyer = await _funded_buyer(db, 500)
    with pytest.raises(payments.InsufficientFunds) as info:
        async with db.write() as s:
            await payments.charge_wallet(s, buyer, 501, trade_ids=[1], key="co-x")
    assert info.value.code == "insufficient_funds" and info.value.status == 409
    async with db.read() as s:
        assert await ledger.balance(s, ledger.wallet(buyer)) == 500
        assert await ledger.balance(s, ESCROW) == 0
    assert await _payments(db) == []


async def test_same_key_charges_once(db: Database) -> None:
    buyer = await _funded_buyer(db, 1000)
    async with db.write() as s:
        first = await payments.charge_wallet(s, buyer, 300, trade_ids=[5], key="co-5")
    async with db.write() as s:
        again = await payments.charge_wallet(s, buyer, 300, trade_ids=[5], key="co-5")
        assert again.id == first.id
        with pytest.raises(payments.IdempotencyConflict):
            await payments.charge_wallet(s, buyer, 301, trade_ids=[5], key="co-5")
    async with db.read() as s:
        assert await ledger.balance(s, ledger.wallet(buyer)) == 700
    assert len(await _payments(db)) == 1


async def test_several_trades_need_a_split(db: Database) -> None:
    buyer = await _funded_buyer(db, 1000)
    async with db.write() as s:
        with pytest.raises(ValueError):
            await payments.charge_wallet(s, buyer, 500, trade_ids=[1, 2], key="k")
        with pytest.raises(ValueError):
            await payments.charge_wallet(
                s, buyer, 500, trade_ids=[1, 2], key="k", trade_amounts=[200, 200]
            )
        with pytest.raises(ValueError):
            await payments.charge_wallet(s, buyer, 500, trade_ids=[1, 1], key="k")
        with pytest.raises(ValueError):
            await payments.charge_wallet(s, buyer, 0, trade_ids=[1], key="k")
        payment = await payments.charge_wallet(
            s, buyer, 500, trade_ids=[1, 2], key="k", trade_amounts=[200, 300]
        )
        assert payment.trade_ids == "1,2"
    async with db.read() as s:
        assert await payments.escrow_held(s, 1) == 200
        assert await payments.escrow_held(s, 2) == 300
        assert await ledger.balance(s, ledger.wallet(buyer)) == 500


async def test_concurrent_charges_never_overdraw(db: Database) -> None:
    price = 100
    buyer = await _funded_buyer(db, 7 * price)

    async def attempt(i: int) -> bool:
        try:
            async with db.write() as s:
                await payments.charge_wallet(s, buyer, price, trade_ids=[1000 + i], key=f"c{i}")
        except payments.InsufficientFunds:
            return False
        return True

    results = await asyncio.gather(*(attempt(i) for i in range(20)))
    assert results.count(True) == 7
    async with db.read() as s:
        assert await ledger.balance(s, ledger.wallet(buyer)) == 0
        assert await ledger.balance(s, ESCROW) == 7 * price
        assert await ledger.trial_balance(s) == 0
    assert len(await _payments(db)) == 7


async def test_concurrent_charges_with_one_key_charge_once(db: Database) -> None:
    buyer = await _funded_buyer(db, 1000)

    async def attempt() -> int:
        async with db.write() as s:
            payment = await payments.charge_wallet(s, buyer, 100, trade_ids=[1], key="dup")
            return payment.id

    ids = await asyncio.gather(*(attempt() for _ in range(6)))
    assert len(set(ids)) == 1
    async with db.read() as s:
        assert await ledger.balance(s, ledger.wallet(buyer)) == 900
