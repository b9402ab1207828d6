"""The sandbox channel: pending payment, signed asynchronous callback, replays ignored."""

from __future__ import annotations

import hashlib
import hmac
from datetime import timedelta

import pytest

from mercato import ledger, payments
from mercato.kit.clock import clock, utcnow
from mercato.kit.db import Database
from mercato.kit.errors import MercatoError, NotFound
from mercato.ledger import ESCROW, SANDBOX_CHANNEL
from mercato.models.ledger import Payment
from tests.ledger.helpers import new_user
from tests.payments.helpers import ensure_trades

SECRET = "sandbox-secret"


@pytest.fixture(autouse=True)
def _reset_clock() -> object:
    yield
    clock.reset()


async def _start(db: Database, amount: int = 1990, trade_id: int = 42) -> Payment:
    async with db.write() as s:
        buyer = await new_user(s, "buyer")
        await ensure_trades(s, [trade_id])
        return await payments.start_sandbox(s, buyer, amount, trade_ids=[trade_id], key=f"k{buyer}")


async def _confirm(db: Database, **fields: object) -> tuple[Payment, bool]:
    async with db.write() as s:
        return await payments.confirm_sandbox(s, secret=SECRET, **fields)


async def _state(db: Database, payment: Payment) -> tuple[str, int, int]:
    async with db.read() as s:
        fresh = await s.get(Payment, payment.id)
        assert fresh is not None
        return (
            fresh.status,
            await ledger.balance(s, ESCROW),
            await ledger.balance(s, SANDBOX_CHANNEL),
        )


def test_signature_is_hmac_sha256_over_the_canonical_string() -> None:
    sig = payments.sign_callback(
        "s3cret", external_ref="sbx_abc", amount=1990, status="paid", timestamp=1795000000
    )
    message = b"amount=1990&external_ref=sbx_abc&status=paid&timestamp=1795000000"
    assert sig == hmac.new(b"s3cret", message, hashlib.sha256).hexdigest()
    # The example in docs/payments.md.
    assert sig == "45043f6c83a652f6ebed8537ce00625ef7b3735272e6f1d2e30d813dbf3de201"


async def test_start_is_pending_and_idempotent(db: Database) -> None:
    async with db.write() as s:
        buyer = await new_user(s, "buyer")
        await ensure_trades(s, [3, 4, 5, 6])
        first = await payments.start_sandbox(s, buyer, 500, trade_ids=[3], key="order-3")
        again = await payments.start_sandbox(s, buyer, 500, trade_ids=[3], key="order-3")
        assert again.id == first.id
        assert first.status == "pending" and first.channel == "sandbox"
        assert first.external_ref == payments.sandbox_ref("order-3")
        other = await payments.start_sandbox(s, buyer, 500, trade_ids=[4], key="order-4")
        assert other.external_ref != first.external_ref
        with pytest.raises(payments.IdempotencyConflict):
            await payments.start_sandbox(s, buyer, 501, trade_ids=[3], key="order-3")
        with pytest.raises(ValueError):
            await payments.start_sandbox(s, buyer, 500, trade_ids=[5, 6], key="order-5")
    async with db.read() as s:
        assert await ledger.trial_balance(s) == 0
        assert await ledger.balance(s, ESCROW) == 0


async def test_paid_callback_moves_money_and_replay_changes_nothing(db: Database) -> None:
    payment = await _start(db)
    callback = payments.callback_for(SECRET, payment, "paid")
    confirmed, changed = await _confirm(db, **callback)
    assert changed and confirmed.status == "paid" and confirmed.paid_at is not None
    assert await _state(db, payment) == ("paid", 1990, -1990)
    async with db.read() as s:
        assert await payments.escrow_held(s, 42) == 1990
    # The channel delivers again; and a later "failed" for the same payment is ignored too.
    replay, changed = await _confirm(db, **callback)
    assert not changed and replay.status == "paid"
    _, changed = await _confirm(db, **payments.callback_for(SECRET, payment, "failed"))
    assert not changed
    assert await _state(db, payment) == ("paid", 1990, -1990)
    async with db.read() as s:
        assert await ledger.trial_balance(s) == 0


async def test_failed_callback(db: Database) -> None:
    payment = await _start(db)
    failed, changed = await _confirm(db, **payments.callback_for(SECRET, payment, "failed"))
    assert changed and failed.status == "failed" and failed.paid_at is None
    _, changed = await _confirm(db, **payments.callback_for(SECRET, payment, "paid"))
    assert not changed
    assert await _state(db, payment) == ("failed", 0, 0)


async def test_rejected_callbacks_change_nothing(db: Database) -> None:
    payment = await _start(db)
    good = payments.callback_for(SECRET, payment, "paid")

    cases: list[tuple[dict[str, object], str]] = [
        ({**good, "signature": "0" * 64}, "invalid_signature"),
        ({**good, "signature": "不是签名"}, "invalid_signature"),
        ({**good, "amount": 1}, "invalid_signature"),  # tampered field: signature breaks
        (payments.callback_for("wrong", payment, "paid"), "invalid_signature"),
        (payments.callback_for(SECRET, payment, "refunded"), "invalid_status"),
    ]
    ts = int(utcnow().timestamp())
    signed_wrong_amount = {
        "external_ref": payment.external_ref,
        "amount": 1,
        "status": "paid",
        "timestamp": ts,
    }
    signed_wrong_amount["signature"] = payments.sign_callback(SECRET, **signed_wrong_amount)
    cases.append((signed_wrong_amount, "amount_mismatch"))
    cases.append(
        (payments.callback_for(SECRET, payment, "paid", timestamp=ts - 301), "stale_callback")
    )
    cases.append(
        (payments.callback_for(SECRET, payment, "paid", timestamp=ts + 400), "stale_callback")
    )
    for fields, code in cases:
        with pytest.raises(MercatoError) as info:
            await _confirm(db, **fields)
        assert info.value.code == code, fields
        assert await _state(db, payment) == ("pending", 0, 0)

    unknown = {**good, "external_ref": "sbx_nope"}
    unknown["signature"] = payments.sign_callback(
        SECRET,
        external_ref="sbx_nope",
        amount=1990,
        status="paid",
        timestamp=good["timestamp"],
    )
    with pytest.raises(NotFound):
        await _confirm(db, **unknown)

    # Nothing above changed the payment; a callback 290 s old is still within max_age.
    late = int(utcnow().timestamp()) - 290
    good = payments.callback_for(SECRET, payment, "paid", timestamp=late)
    _, changed = await _confirm(db, **good)
    assert changed
    assert await _state(db, payment) == ("paid", 1990, -1990)


async def test_stale_after_max_age(db: Database) -> None:
    payment = await _start(db)
    good = payments.callback_for(SECRET, payment, "paid")
    clock.advance(timedelta(seconds=301))
    with pytest.raises(payments.CallbackRejected) as info:
        await _confirm(db, **good)
    assert info.value.code == "stale_callback"
    assert await _state(db, payment) == ("pending", 0, 0)
