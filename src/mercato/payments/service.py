"""Escrow flows (the Alipay model): buyers pay into escrow, confirming receipt releases the
money to the seller less the platform commission, a refund returns it to where it came from.

Every flow is ledger postings with stable idempotency keys, so a retried request or a
replayed callback changes nothing the second time. Services only flush; the caller's unit of
work commits. See docs/payments.md.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.config import Settings
from mercato.kit.clock import utcnow
from mercato.kit.errors import Conflict, NotFound
from mercato.ledger.accounts import COMMISSION, ESCROW, SANDBOX_CHANNEL, seller, wallet
from mercato.ledger.service import balance, lock_account, post, transaction_by_key
from mercato.models.catalog import Category
from mercato.models.ledger import (
    LedgerAccount,
    LedgerEntry,
    LedgerTransaction,
    Payment,
    PaymentTrade,
)

CHANNELS = ("wallet", "sandbox")
# Categories store their commission in basis points (exact on every backend).
BASIS_POINTS = 10_000
# A category chain longer than this is a cycle in the data, not a real tree.
MAX_CATEGORY_DEPTH = 32
MAX_EXTERNAL_REF_LENGTH = 64  # Payment.external_ref
MAX_TRADE_IDS_LENGTH = 2000  # Payment.trade_ids
# Namespace of the PostgreSQL advisory locks that serialise escrow movements of one trade.
_TRADE_LOCK_NAMESPACE = 0x4C454447  # "LEDG"


class InsufficientFunds(Conflict):
    code = "insufficient_funds"


class EscrowShortfall(Conflict):
    """A release or refund asked for more than the trade still holds in escrow."""

    code = "escrow_insufficient"


class IdempotencyConflict(Conflict):
    """An idempotency key was reused for a different payment."""

    code = "idempotency_conflict"


def _positive_fen(value: int, what: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"{what} must be a positive number of fen")


def trade_split(
    amount: int, trade_ids: Sequence[int], trade_amounts: Sequence[int] | None = None
) -> list[tuple[int, int]]:
    """How a payment's amount divides over its trades: ``[(trade id, fen), …]``.

    One trade takes the whole amount. Several trades need ``trade_amounts`` (one per trade,
    summing to ``amount``): escrow is tracked per trade, so the split must be known.
    """
    _positive_fen(amount, "amount")
    tids = [int(t) for t in trade_ids]
    if not tids:
        raise ValueError("a payment pays for at least one trade")
    if len(set(tids)) != len(tids):
        raise ValueError("a trade appears twice in one payment")
    if trade_amounts is None:
        if len(tids) != 1:
            raise ValueError("trade_amounts is required when paying for several trades")
        return [(tids[0], amount)]
    parts = list(trade_amounts)
    if len(parts) != len(tids):
        raise ValueError("one amount per trade")
    for part in parts:
        _positive_fen(part, "each trade amount")
    if sum(parts) != amount:
        raise ValueError("trade amounts must add up to the payment amount")
    return list(zip(tids, parts, strict=True))


def trade_ids_text(trade_ids: Sequence[int]) -> str:
    out = ",".join(str(int(t)) for t in trade_ids)
    if len(out) > MAX_TRADE_IDS_LENGTH:
        raise ValueError("too many trades in one payment")
    return out


def check_same_payment(
    payment: Payment, *, buyer_id: int, amount: int, channel: str, trade_ids: Sequence[int]
) -> None:
    """A repeated call with the same key must describe the same payment."""
    if (
        payment.buyer_id != buyer_id
        or payment.amount != amount
        or payment.channel != channel
        or payment.trade_ids != trade_ids_text(trade_ids)
    ):
        raise IdempotencyConflict("this idempotency key was used for a different payment")


def sandbox_ref(key: str) -> str:
    """The external_ref of the sandbox payment opened with idempotency ``key``.

    Derived from the key (SHA-256) rather than drawn at random, because Payment has no
    column for the key: a retried ``start_sandbox`` must find the payment it opened. It is
    still an opaque token; what makes callbacks trustworthy is the HMAC, not the ref.
    """
    return "sbx_" + hashlib.sha256(key.encode()).hexdigest()[:40]


def payment_ref(channel: str, key: str) -> str:
    """The ``external_ref`` a payment opened with idempotency ``key`` is stored under."""
    if channel == "wallet":
        return key
    if channel == "sandbox":
        return sandbox_ref(key)
    raise ValueError(f"unknown payment channel {channel!r}")


async def earlier_payment(
    session: AsyncSession,
    *,
    channel: str,
    key: str,
    buyer_id: int,
    amount: int,
    trade_ids: Sequence[int],
) -> Payment | None:
    """The payment an earlier call with this idempotency ``key`` made, or None.

    Lets a caller recognise a retry before it re-checks state that the first call changed
    (a retried wallet payment finds its trades already paid). The same key for another
    buyer, amount, channel or set of trades raises ``IdempotencyConflict``.
    """
    if not key:
        return None
    payment = await payment_by_ref(session, payment_ref(channel, key))
    if payment is not None:
        check_same_payment(
            payment, buyer_id=buyer_id, amount=amount, channel=channel, trade_ids=trade_ids
        )
    return payment


async def payment_by_ref(
    session: AsyncSession, external_ref: str, *, lock: bool = False
) -> Payment | None:
    stmt = select(Payment).where(Payment.external_ref == external_ref)
    if lock:
        stmt = stmt.with_for_update()
    return await session.scalar(stmt.execution_options(populate_existing=True))


async def buyer_payment(
    session: AsyncSession, buyer_id: int, external_ref: str, *, channel: str
) -> Payment:
    """The buyer's own payment through ``channel`` with this reference; anyone else's is
    "not found"."""
    payment = await payment_by_ref(session, external_ref)
    if payment is None or payment.buyer_id != buyer_id or payment.channel != channel:
        raise NotFound("no such payment", code="payment_not_found")
    return payment


async def add_payment(
    session: AsyncSession, payment: Payment, split: Sequence[tuple[int, int]]
) -> Payment:
    """Insert a payment with one ``payment_trades`` row per ``(trade id, fen)`` of its
    split, or return the one a concurrent unit inserted with the same ref."""
    try:
        async with session.begin_nested():
            session.add(payment)
            await session.flush()
            session.add_all(
                PaymentTrade(payment_id=payment.id, trade_id=tid, amount=part)
                for tid, part in split
            )
            await session.flush()
    except IntegrityError:
        assert payment.external_ref is not None
        existing = await payment_by_ref(session, payment.external_ref)
        if existing is None:
            raise
        return existing
    return payment


async def payment_split(session: AsyncSession, payment_id: int) -> list[tuple[int, int]]:
    """What the payment pays for each of its trades: ``[(trade id, fen), …]`` by trade id."""
    rows = await session.execute(
        select(PaymentTrade.trade_id, PaymentTrade.amount)
        .where(PaymentTrade.payment_id == payment_id)
        .order_by(PaymentTrade.trade_id)
    )
    return [(int(tid), int(amount)) for tid, amount in rows]


async def charge_wallet(
    session: AsyncSession,
    buyer_id: int,
    amount: int,
    *,
    trade_ids: list[int],
    key: str,
    trade_amounts: list[int] | None = None,
) -> Payment:
    """Pay from the buyer's wallet into escrow; returns the paid Payment.

    ``key`` identifies the payment (stored as its ``external_ref``): the same key again
    returns the first Payment and charges nothing. Raises ``InsufficientFunds`` when the
    wallet holds less than ``amount``. On PostgreSQL the wallet's account row is locked
    (``FOR UPDATE``) before the balance is read, so concurrent charges cannot overdraw it.
    """
    split = trade_split(amount, trade_ids, trade_amounts)
    if not key or len(key) > MAX_EXTERNAL_REF_LENGTH:
        raise ValueError(f"key must be 1..{MAX_EXTERNAL_REF_LENGTH} characters")
    code = wallet(buyer_id)
    # Lock first, then look for the key: a concurrent call with the same key waits here and
    # then finds the payment the first one committed.
    await lock_account(session, code)
    existing = await payment_by_ref(session, key)
    if existing is not None:
        check_same_payment(
            existing, buyer_id=buyer_id, amount=amount, channel="wallet", trade_ids=trade_ids
        )
        return existing
    available = await balance(session, code)
    if available < amount:
        raise InsufficientFunds(f"the wallet holds {available} fen; {amount} fen are needed")
    now = utcnow()
    payment = Payment(
        buyer_id=buyer_id,
        channel="wallet",
        amount=amount,
        status="paid",
        trade_ids=trade_ids_text([tid for tid, _ in split]),
        external_ref=key,
        created_at=now,
        paid_at=now,
    )
    payment = await add_payment(session, payment, split)
    for tid, part in split:
        await post(
            session,
            key=f"pay:{payment.id}:{tid}",
            kind="payment",
            entries=[(code, -part), (ESCROW, part)],
            trade_id=tid,
            memo=f"wallet payment {payment.id}",
        )
    return payment


@functools.cache
def default_commission_rate() -> Decimal:
    """The rate above the category tree's root: the ``MERCATO_COMMISSION_RATE`` setting,
    read once per process (the domain has no request to take settings from)."""
    return Settings().commission_rate


def rate_to_basis_points(rate: Decimal) -> int:
    """A fraction (``Decimal("0.03")``) as whole basis points (300). A rate outside 0..1
    or finer than a basis point is a ValueError: stored rates must be exact."""
    if not isinstance(rate, Decimal) or not rate.is_finite() or not 0 <= rate <= 1:
        raise ValueError("rate must be a fraction between 0 and 1, such as 0.05")
    points = rate * BASIS_POINTS
    if points != points.to_integral_value():
        raise ValueError("rate must be a whole number of basis points (at most 4 decimals)")
    return int(points)


def parse_rate(text: str) -> Decimal:
    """A rate typed by an operator (``"0.03"``), checked like a stored one."""
    try:
        rate = Decimal(text.strip())
    except InvalidOperation:
        raise ValueError(f"{text!r} is not a number; write a fraction such as 0.03") from None
    rate_to_basis_points(rate)
    return rate


def _from_basis_points(points: int) -> Decimal:
    return Decimal(points) / BASIS_POINTS


async def _category_chain(session: AsyncSession, category_id: int) -> list[Category]:
    """The category and its ancestors, nearest first (by parent_id, so it does not rely on
    the materialised path). An unknown id is ``NotFound``."""
    chain: list[Category] = []
    next_id: int | None = category_id
    while next_id is not None and len(chain) < MAX_CATEGORY_DEPTH:
        category = await session.get(Category, next_id)
        if category is None:
            raise NotFound(f"category {next_id} does not exist", code="category_not_found")
        chain.append(category)
        next_id = category.parent_id
    return chain


async def commission_rate(
    session: AsyncSession, category_id: int | None, *, default: Decimal | None = None
) -> Decimal:
    """The commission rate for a category: its own, else its nearest ancestor's, else
    ``default`` (the setting when not given). An order whose category is gone pays the
    default rather than failing the release."""
    fallback = default_commission_rate() if default is None else default
    if category_id is None:
        return fallback
    try:
        chain = await _category_chain(session, category_id)
    except NotFound:
        return fallback
    for category in chain:
        if category.commission_rate is not None:
            return _from_basis_points(category.commission_rate)
    return fallback


async def set_commission_rate(
    session: AsyncSession, category_id: int, rate: Decimal | None
) -> Category:
    """Give a category its own rate, or (``None``) make it inherit again."""
    category = await session.get(Category, category_id)
    if category is None:
        raise NotFound(f"category {category_id} does not exist", code="category_not_found")
    category.commission_rate = None if rate is None else rate_to_basis_points(rate)
    await session.flush()
    return category


async def commission_rates(
    session: AsyncSession, *, default: Decimal | None = None
) -> list[tuple[Category, Decimal | None, Decimal]]:
    """Every category with its own rate (or None) and the rate it actually pays."""
    categories = list(await session.scalars(select(Category).order_by(Category.id)))
    out = []
    for category in categories:
        own = category.commission_rate
        effective = await commission_rate(session, category.id, default=default)
        out.append((category, None if own is None else _from_basis_points(own), effective))
    return out


def commission_for(amount: int, rate: Decimal) -> int:
    """Commission in whole fen on ``amount`` at ``rate``, rounded half up."""
    if isinstance(amount, bool) or not isinstance(amount, int) or amount < 0:
        raise ValueError("amount must be a non-negative number of fen")
    if not isinstance(rate, Decimal) or not rate.is_finite() or not 0 <= rate <= 1:
        raise ValueError("rate must be a Decimal between 0 and 1")
    return int((Decimal(amount) * rate).quantize(Decimal(1), rounding=ROUND_HALF_UP))


async def _lock_trade(session: AsyncSession, trade_id: int) -> None:
    """Serialise escrow movements out of one trade until the unit of work ends.

    PostgreSQL: a transaction-scoped advisory lock keyed by the trade, so a release and a
    refund of the same trade cannot both pass the escrow check. SQLite's single writer
    serialises already.
    """
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(
            text("SELECT pg_advisory_xact_lock(CAST(:ns AS integer), CAST(:obj AS integer))"),
            {"ns": _TRADE_LOCK_NAMESPACE, "obj": int(trade_id) % 2147483647},
        )


async def escrow_held(session: AsyncSession, trade_id: int) -> int:
    """Fen the trade still holds in escrow: the sum of its escrow entries."""
    total = await session.scalar(
        select(func.coalesce(func.sum(LedgerEntry.amount), 0))
        .join(LedgerTransaction, LedgerTransaction.id == LedgerEntry.transaction_id)
        .join(LedgerAccount, LedgerAccount.id == LedgerEntry.account_id)
        .where(LedgerTransaction.trade_id == trade_id, LedgerAccount.code == ESCROW)
    )
    return int(total or 0)


async def release_to_seller(
    session: AsyncSession, *, trade_id: int, seller_id: int, amount: int, commission: int
) -> None:
    """Confirming receipt: escrow → ``seller:<id>`` (amount − commission) and escrow →
    ``commission``, one transaction keyed ``release:<trade id>`` (so at most once per trade).

    Raises ``EscrowShortfall`` when the trade holds less than ``amount`` in escrow.
    """
    _positive_fen(amount, "amount")
    if isinstance(commission, bool) or not isinstance(commission, int):
        raise ValueError("commission must be integer fen")
    if not 0 <= commission <= amount:
        raise ValueError("commission must be between 0 and the amount")
    key = f"release:{trade_id}"
    await _lock_trade(session, trade_id)
    if await transaction_by_key(session, key) is not None:
        return
    held = await escrow_held(session, trade_id)
    if amount > held:
        raise EscrowShortfall(f"trade {trade_id} holds {held} fen in escrow, not {amount}")
    entries = [(ESCROW, -amount)]
    if amount - commission:
        entries.append((seller(seller_id), amount - commission))
    if commission:
        entries.append((COMMISSION, commission))
    await post(
        session,
        key=key,
        kind="release",
        entries=entries,
        trade_id=trade_id,
        memo=f"release to seller {seller_id}",
    )


async def refund_to_buyer(
    session: AsyncSession, *, trade_id: int, buyer_id: int, amount: int, channel: str, key: str
) -> None:
    """Escrow → back where the money came from: ``wallet:<buyer>`` for wallet payments,
    ``channel:sandbox`` for sandbox payments. Posted with key ``refund:<key>``.

    Raises ``EscrowShortfall`` when the trade holds less than ``amount`` in escrow.
    """
    _positive_fen(amount, "amount")
    if channel == "wallet":
        target = wallet(buyer_id)
    elif channel == "sandbox":
        target = SANDBOX_CHANNEL
    else:
        raise ValueError(f"unknown payment channel {channel!r}")
    ledger_key = f"refund:{key}"
    await _lock_trade(session, trade_id)
    if await transaction_by_key(session, ledger_key) is not None:
        return
    held = await escrow_held(session, trade_id)
    if amount > held:
        raise EscrowShortfall(f"trade {trade_id} holds {held} fen in escrow, not {amount}")
    await post(
        session,
        key=ledger_key,
        kind="refund",
        entries=[(ESCROW, -amount), (target, amount)],
        trade_id=trade_id,
        memo=f"refund to buyer {buyer_id} via {channel}",
    )


async def return_payment(session: AsyncSession, payment: Payment) -> None:
    """Send a paid payment's money straight back where it came from and mark it
    ``refunded``: for money that arrived after its trades could no longer take it.

    Each trade's share leaves escrow as a refund keyed ``unapplied:<payment>:<trade>``, so
    only what this payment brought in moves, whatever else the trade holds.
    """
    for tid, part in await payment_split(session, payment.id):
        await refund_to_buyer(
            session,
            trade_id=tid,
            buyer_id=payment.buyer_id,
            amount=part,
            channel=payment.channel,
            key=f"unapplied:{payment.id}:{tid}",
        )
    payment.status = "refunded"
    await session.flush()
