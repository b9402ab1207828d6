"""The sandbox payment channel: an asynchronous external channel shaped like Alipay.

``start_sandbox`` opens a pending Payment whose ``external_ref`` the channel knows it by.
The channel later calls back with the outcome, signed with a shared secret;
``confirm_sandbox`` verifies the callback and, for "paid", moves the money
``channel:sandbox`` → ``escrow``. Replays change nothing.

Signing (also in docs/payments.md): the canonical string is the four fields in alphabetical
order as ``name=value`` joined by ``&``, for example
``amount=1990&external_ref=sbx_…&status=paid&timestamp=1795000000``; the signature is the
lowercase hex HMAC-SHA256 of its UTF-8 bytes under the UTF-8 bytes of the secret.
"""

from __future__ import annotations

import hashlib
import hmac

from sqlalchemy.ext.asyncio import AsyncSession

from mercato.kit.clock import utcnow
from mercato.kit.errors import MercatoError, NotFound
from mercato.ledger.accounts import ESCROW, SANDBOX_CHANNEL
from mercato.ledger.service import post
from mercato.models.ledger import Payment
from mercato.payments.service import (
    add_payment,
    check_same_payment,
    payment_by_ref,
    payment_split,
    sandbox_ref,
    trade_ids_text,
    trade_split,
)

CALLBACK_STATUSES = ("paid", "failed")
DEFAULT_MAX_AGE_S = 300
# Label under which the callback secret is derived from the server's secret key, so the
# key that signs cookies never signs callbacks itself.
_SECRET_LABEL = b"mercato/payments/sandbox-callback/v1"


class CallbackRejected(MercatoError):
    """A sandbox callback that must not be acted on. Codes: ``invalid_signature``,
    ``stale_callback``, ``amount_mismatch``, ``invalid_status``."""

    status = 400
    code = "callback_rejected"


def callback_secret(secret_key: str) -> str:
    """The secret the sandbox channel and the platform share, derived from the server's
    ``secret_key`` (HMAC-SHA256 under a fixed label): the one place it is made."""
    if not secret_key:
        raise ValueError("the server secret key is empty")
    return hmac.new(secret_key.encode(), _SECRET_LABEL, hashlib.sha256).hexdigest()


def canonical_callback(*, external_ref: str, amount: int, status: str, timestamp: int) -> str:
    """The string a callback signature covers."""
    fields = (
        ("amount", str(int(amount))),
        ("external_ref", external_ref),
        ("status", status),
        ("timestamp", str(int(timestamp))),
    )
    return "&".join(f"{name}={value}" for name, value in fields)


def sign_callback(
    secret: str, *, external_ref: str, amount: int, status: str, timestamp: int
) -> str:
    """HMAC-SHA256 (lowercase hex) of the canonical callback string under ``secret``."""
    message = canonical_callback(
        external_ref=external_ref, amount=amount, status=status, timestamp=timestamp
    )
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()


def callback_for(
    secret: str, payment: Payment, status: str, *, timestamp: int | None = None
) -> dict[str, object]:
    """The signed callback the sandbox channel sends for ``payment`` (demo and tests)."""
    assert payment.external_ref is not None
    ts = int(utcnow().timestamp()) if timestamp is None else timestamp
    fields: dict[str, object] = {
        "external_ref": payment.external_ref,
        "amount": payment.amount,
        "status": status,
        "timestamp": ts,
    }
    fields["signature"] = sign_callback(
        secret,
        external_ref=payment.external_ref,
        amount=payment.amount,
        status=status,
        timestamp=ts,
    )
    return fields


async def start_sandbox(
    session: AsyncSession,
    buyer_id: int,
    amount: int,
    *,
    trade_ids: list[int],
    key: str,
    trade_amounts: list[int] | None = None,
) -> Payment:
    """Open a pending sandbox payment; the same ``key`` again returns the same Payment.

    Several trades need ``trade_amounts`` (one per trade, summing to ``amount``); the split
    is kept in ``payment_trades`` for the callback to post each trade's escrow.
    """
    split = trade_split(amount, trade_ids, trade_amounts)
    if not key:
        raise ValueError("key must not be empty")
    tids = [tid for tid, _ in split]
    ref = sandbox_ref(key)
    existing = await payment_by_ref(session, ref)
    if existing is not None:
        check_same_payment(
            existing, buyer_id=buyer_id, amount=amount, channel="sandbox", trade_ids=tids
        )
        return existing
    payment = Payment(
        buyer_id=buyer_id,
        channel="sandbox",
        amount=amount,
        status="pending",
        trade_ids=trade_ids_text(tids),
        external_ref=ref,
        created_at=utcnow(),
    )
    payment = await add_payment(session, payment, split)
    check_same_payment(payment, buyer_id=buyer_id, amount=amount, channel="sandbox", trade_ids=tids)
    return payment


async def confirm_sandbox(
    session: AsyncSession,
    *,
    external_ref: str,
    amount: int,
    status: str,
    timestamp: int,
    signature: str,
    secret: str,
    max_age_s: int = DEFAULT_MAX_AGE_S,
) -> tuple[Payment, bool]:
    """Act on a signed sandbox callback; returns ``(payment, changed)``.

    Checks, in order: the signature (constant-time), the timestamp (at most ``max_age_s``
    old or ahead), the status, the payment, the amount. "paid" posts ``channel:sandbox`` →
    ``escrow`` (key ``pay:<payment id>:<trade id>``) and marks the payment paid; "failed"
    marks it failed. A payment that is no longer pending (a replay) is returned with
    ``False`` and nothing changes. Any rejection raises before anything is written.
    The caller then marks the trades paid (``trade.service.mark_paid``) in the same unit
    of work, and only when ``changed`` is True.
    """
    expected = sign_callback(
        secret, external_ref=external_ref, amount=amount, status=status, timestamp=timestamp
    )
    given = signature.encode("utf-8", "replace") if isinstance(signature, str) else b""
    if not hmac.compare_digest(expected.encode(), given):
        raise CallbackRejected("the callback signature is not valid", code="invalid_signature")
    if abs(utcnow().timestamp() - int(timestamp)) > max_age_s:
        raise CallbackRejected("the callback is too old or from the future", code="stale_callback")
    if status not in CALLBACK_STATUSES:
        raise CallbackRejected(f"unknown callback status {status!r}", code="invalid_status")
    # Lock the payment so two deliveries of one callback cannot both act on it.
    payment = await payment_by_ref(session, external_ref, lock=True)
    if payment is None or payment.channel != "sandbox":
        raise NotFound("no sandbox payment with this reference", code="payment_not_found")
    if payment.amount != amount:
        raise CallbackRejected(
            f"the callback is for {amount} fen but the payment is {payment.amount} fen",
            code="amount_mismatch",
        )
    if payment.status != "pending":
        return payment, False
    if status == "paid":
        for tid, part in await payment_split(session, payment.id):
            await post(
                session,
                key=f"pay:{payment.id}:{tid}",
                kind="payment",
                entries=[(SANDBOX_CHANNEL, -part), (ESCROW, part)],
                trade_id=tid,
                memo=f"sandbox payment {payment.id}",
            )
        payment.status = "paid"
        payment.paid_at = utcnow()
    else:
        payment.status = "failed"
    await session.flush()
    return payment, True
