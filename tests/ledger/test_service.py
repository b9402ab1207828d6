"""The ledger: balanced posting, idempotency, balances and the trial balance."""

from __future__ import annotations

import asyncio

import pytest

from mercato import ledger
from mercato.kit.clock import utcnow
from mercato.kit.db import Database
from mercato.ledger import COMMISSION, DEPOSITS, ESCROW, SANDBOX_CHANNEL
from mercato.models.ledger import LedgerEntry, LedgerTransaction
from tests.ledger.helpers import new_user


@pytest.mark.parametrize(
    "entries",
    [
        [],
        [(ESCROW, 0), (COMMISSION, 0)],
        [(ESCROW, 5), (COMMISSION, -5), (SANDBOX_CHANNEL, 0)],
        [(ESCROW, 5), (COMMISSION, -4)],
        [(ESCROW, 5)],
        [(ESCROW, 1.5), (COMMISSION, -1.5)],
        [(ESCROW, True), (COMMISSION, -1)],
    ],
)
async def test_post_rejects_bad_entries(db: Database, entries: list[tuple[str, int]]) -> None:
    async with db.write() as s:
        with pytest.raises(ValueError):
            await ledger.post(s, key="k", kind="test", entries=entries)
    async with db.read() as s:
        assert await ledger.trial_balance(s) == 0
        assert await ledger.transaction_by_key(s, "k") is None


async def test_post_rejects_unknown_account_and_bad_key(db: Database) -> None:
    async with db.write() as s:
        with pytest.raises(ValueError):
            await ledger.post(s, key="k", kind="t", entries=[("walet:1", 1), (ESCROW, -1)])
        with pytest.raises(ValueError):
            await ledger.post(s, key="", kind="t", entries=[(COMMISSION, 1), (ESCROW, -1)])
        with pytest.raises(ValueError):
            await ledger.post(s, key="k" * 101, kind="t", entries=[(COMMISSION, 1), (ESCROW, -1)])


def test_account_codes() -> None:
    assert ledger.wallet(7) == "wallet:7"
    assert ledger.seller(7) == "seller:7"
    assert ledger.account_kind("wallet:7") == ("wallet", 7)
    assert ledger.account_kind("seller:7") == ("seller", 7)
    assert ledger.account_kind(ESCROW) == ("escrow", None)
    assert ledger.account_kind(COMMISSION) == ("revenue", None)
    assert ledger.account_kind(DEPOSITS) == ("channel", None)
    for bad in ("wallet:", "wallet:x", "wallet:07", "seller", "channel:", "other"):
        with pytest.raises(ValueError):
            ledger.account_kind(bad)


async def test_post_is_idempotent_by_key(db: Database) -> None:
    entries = [(SANDBOX_CHANNEL, -300), (ESCROW, 300)]
    async with db.write() as s:
        first, posted = await ledger.post(s, key="pay:1", kind="payment", entries=entries)
        assert posted
        again, posted_again = await ledger.post(
            s, key="pay:1", kind="payment", entries=[(SANDBOX_CHANNEL, -1), (ESCROW, 1)]
        )
        assert not posted_again and again.id == first.id
    async with db.write() as s:
        third, posted_third = await ledger.post(s, key="pay:1", kind="payment", entries=entries)
        assert not posted_third and third.id == first.id
        assert sorted(e.amount for e in third.entries) == [-300, 300]
    async with db.read() as s:
        assert await ledger.balance(s, ESCROW) == 300
        assert await ledger.balance(s, SANDBOX_CHANNEL) == -300


async def test_balances_and_trial_balance(db: Database) -> None:
    async with db.write() as s:
        buyer = await new_user(s)
        seller = await new_user(s)
        await ledger.post(
            s, key="a", kind="payment", entries=[(DEPOSITS, -1000), (ledger.wallet(buyer), 1000)]
        )
        await ledger.post(
            s, key="b", kind="payment", entries=[(ledger.wallet(buyer), -700), (ESCROW, 700)]
        )
        await ledger.post(
            s,
            key="c",
            kind="release",
            entries=[(ESCROW, -700), (ledger.seller(seller), 665), (COMMISSION, 35)],
            trade_id=9,
            memo="m" * 500,  # trimmed to fit
        )
    async with db.read() as s:
        assert await ledger.balance(s, ledger.wallet(buyer)) == 300
        assert await ledger.balance(s, ESCROW) == 0
        assert await ledger.balance(s, ledger.seller(seller)) == 665
        assert await ledger.balance(s, COMMISSION) == 35
        assert await ledger.balance(s, DEPOSITS) == -1000
        assert await ledger.balance(s, "wallet:999999") == 0
        assert await ledger.trial_balance(s) == 0
        assert await ledger.unbalanced_transactions(s) == []


async def test_unbalanced_transactions_finds_broken_rows(db: Database) -> None:
    # Only a bypass of post() can do this; the operator console must see it.
    async with db.write() as s:
        escrow = await ledger.account_id(s, ESCROW)
        broken = LedgerTransaction(
            idempotency_key="broken", kind="test", created_at=utcnow(), memo=""
        )
        broken.entries = [LedgerEntry(account_id=escrow, amount=5)]
        s.add(broken)
        await ledger.post(s, key="ok", kind="t", entries=[(COMMISSION, 1), (ESCROW, -1)])
        await s.flush()
        broken_id = broken.id
    async with db.read() as s:
        assert await ledger.unbalanced_transactions(s) == [broken_id]
        assert await ledger.trial_balance(s) == 5


async def test_deposit(db: Database) -> None:
    async with db.write() as s:
        buyer = await new_user(s)
        await ledger.deposit(s, buyer, 500, key="topup-1")
        await ledger.deposit(s, buyer, 500, key="topup-1")  # a retry: once
        await ledger.deposit(s, buyer, 250, key="topup-2")
        for bad in (0, -5):
            with pytest.raises(ValueError):
                await ledger.deposit(s, buyer, bad, key="bad")
    async with db.read() as s:
        assert await ledger.balance(s, ledger.wallet(buyer)) == 750
        assert await ledger.balance(s, DEPOSITS) == -750
        assert await ledger.trial_balance(s) == 0


async def test_concurrent_posts_with_one_key_post_once(db: Database) -> None:
    async with db.write() as s:
        buyer = await new_user(s)

    async def attempt() -> bool:
        async with db.write() as s:
            _, posted = await ledger.post(
                s,
                key="same",
                kind="deposit",
                entries=[(DEPOSITS, -100), (ledger.wallet(buyer), 100)],
            )
            return posted

    results = await asyncio.gather(*(attempt() for _ in range(8)))
    assert results.count(True) == 1
    async with db.read() as s:
        assert await ledger.balance(s, ledger.wallet(buyer)) == 100
        assert await ledger.trial_balance(s) == 0


async def test_concurrent_account_creation_makes_one_row(db: Database) -> None:
    async with db.write() as s:
        buyer = await new_user(s)

    async def open_account() -> int:
        async with db.write() as s:
            return await ledger.account_id(s, ledger.wallet(buyer))

    ids = await asyncio.gather(*(open_account() for _ in range(8)))
    assert len(set(ids)) == 1
