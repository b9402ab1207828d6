"""Posting to the ledger and reading balances.

Sign convention: an entry's amount is what its account gains (+) or loses (−), in fen. A
transaction moves money between accounts, so its entries sum to zero. Balances are sums of
entries and are never stored; the ledger is append-only (a correction is a new, reversing
transaction). Services only flush: the unit of work that called them commits.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.kit.clock import utcnow
from mercato.ledger.accounts import DEPOSITS, account_kind, wallet
from mercato.models.ledger import LedgerAccount, LedgerEntry, LedgerTransaction

MAX_KEY_LENGTH = 100  # LedgerTransaction.idempotency_key
MAX_KIND_LENGTH = 24
MAX_MEMO_LENGTH = 200


def _dialect(session: AsyncSession) -> str:
    return session.get_bind().dialect.name


async def account_id(session: AsyncSession, code: str) -> int:
    """The id of the account with this code, creating it on first use.

    Race-safe on both engines: ``INSERT … ON CONFLICT (code) DO NOTHING`` and then a select,
    so two units of work opening the same account at once both end up with the one row.
    """
    found = await session.scalar(select(LedgerAccount.id).where(LedgerAccount.code == code))
    if found is not None:
        return found
    kind, user_id = account_kind(code)
    insert: Any = postgresql.insert if _dialect(session) == "postgresql" else sqlite.insert
    await session.execute(
        insert(LedgerAccount)
        .values(code=code, kind=kind, user_id=user_id)
        .on_conflict_do_nothing(index_elements=["code"])
    )
    created = await session.scalar(select(LedgerAccount.id).where(LedgerAccount.code == code))
    assert created is not None
    return created


async def lock_account(session: AsyncSession, code: str) -> int:
    """Create the account if needed and lock its row until the unit of work ends.

    PostgreSQL: ``SELECT … FOR UPDATE`` serialises everyone who reads this account's balance
    to decide whether money may leave it. SQLite has no row locks (``FOR UPDATE`` is not
    rendered there); its single ``BEGIN IMMEDIATE`` writer serialises instead.
    """
    ident = await account_id(session, code)
    await session.execute(
        select(LedgerAccount.id).where(LedgerAccount.id == ident).with_for_update()
    )
    return ident


async def transaction_by_key(session: AsyncSession, key: str) -> LedgerTransaction | None:
    return await session.scalar(
        select(LedgerTransaction)
        .where(LedgerTransaction.idempotency_key == key)
        .execution_options(populate_existing=True)
    )


def _check(key: str, kind: str, entries: Sequence[tuple[str, int]]) -> None:
    if not key or len(key) > MAX_KEY_LENGTH:
        raise ValueError(f"idempotency key must be 1..{MAX_KEY_LENGTH} characters")
    if not kind or len(kind) > MAX_KIND_LENGTH:
        raise ValueError(f"kind must be 1..{MAX_KIND_LENGTH} characters")
    if not entries:
        raise ValueError("a ledger transaction needs entries")
    for code, amount in entries:
        if isinstance(amount, bool) or not isinstance(amount, int):
            raise ValueError(f"amount for {code} must be integer fen, not {amount!r}")
        if amount == 0:
            raise ValueError(f"zero entry for {code}")
    total = sum(amount for _, amount in entries)
    if total != 0:
        raise ValueError(f"entries sum to {total}, not 0")


async def post(
    session: AsyncSession,
    *,
    key: str,
    kind: str,
    entries: list[tuple[str, int]],
    trade_id: int | None = None,
    memo: str = "",
) -> tuple[LedgerTransaction, bool]:
    """Post one balanced transaction: the one way money moves.

    ``entries`` are ``(account code, amount)``; an amount is what the account gains (+) or
    loses (−). Raises ValueError when they are empty, contain a zero or do not sum to zero.

    Idempotent by ``key``: when a transaction with that key exists it is returned as
    ``(txn, False)`` and nothing is posted (its entries are not compared with these). A
    concurrent duplicate insert hits the unique constraint inside a SAVEPOINT, which is
    rolled back, and the winner's transaction is returned. Returns ``(txn, True)`` when
    this call posted.
    """
    _check(key, kind, entries)
    existing = await transaction_by_key(session, key)
    if existing is not None:
        return existing, False
    # Open accounts in a fixed order, outside the savepoint, so a lost race rolls back only
    # the transaction row and its entries.
    ids = {code: await account_id(session, code) for code in sorted({c for c, _ in entries})}
    txn = LedgerTransaction(
        idempotency_key=key,
        kind=kind,
        trade_id=trade_id,
        created_at=utcnow(),
        memo=memo[:MAX_MEMO_LENGTH],
        entries=[LedgerEntry(account_id=ids[code], amount=amount) for code, amount in entries],
    )
    try:
        async with session.begin_nested():
            session.add(txn)
            await session.flush()
    except IntegrityError:
        existing = await transaction_by_key(session, key)
        if existing is None:  # not a duplicate key: some other constraint failed
            raise
        return existing, False
    return txn, True


async def balance(session: AsyncSession, code: str) -> int:
    """The account's balance in fen: the sum of its entries (0 for an unknown account)."""
    total = await session.scalar(
        select(func.coalesce(func.sum(LedgerEntry.amount), 0))
        .join(LedgerAccount, LedgerAccount.id == LedgerEntry.account_id)
        .where(LedgerAccount.code == code)
    )
    return int(total or 0)


async def trial_balance(session: AsyncSession) -> int:
    """The sum of every entry in the ledger; anything but 0 means the books are broken."""
    total = await session.scalar(select(func.coalesce(func.sum(LedgerEntry.amount), 0)))
    return int(total or 0)


async def unbalanced_transactions(session: AsyncSession) -> list[int]:
    """Ids of transactions whose entries do not sum to zero (should always be empty)."""
    rows = await session.scalars(
        select(LedgerEntry.transaction_id)
        .group_by(LedgerEntry.transaction_id)
        .having(func.sum(LedgerEntry.amount) != 0)
        .order_by(LedgerEntry.transaction_id)
    )
    return list(rows)


async def deposit(session: AsyncSession, user_id: int, amount: int, *, key: str) -> None:
    """Money enters a buyer's wallet from outside (channel:deposit → wallet:<id>).

    Idempotent by ``key`` (posted as ``deposit:<key>``).
    """
    if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
        raise ValueError("a deposit must be a positive number of fen")
    await post(
        session,
        key=f"deposit:{key}",
        kind="deposit",
        entries=[(DEPOSITS, -amount), (wallet(user_id), amount)],
        memo=f"deposit to wallet of user {user_id}",
    )
