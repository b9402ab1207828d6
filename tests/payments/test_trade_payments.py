"""Paying trades through the sandbox channel and the wallet: ``trade.pay`` opens the
payment, the channel's callback (``answer_callback``, the route's code path) settles it,
and ``mark_paid`` moves the trades. Runs on every backend."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from mercato import ledger, payments
from mercato.kit.clock import clock
from mercato.kit.db import Database
from mercato.kit.errors import Conflict
from mercato.ledger import ESCROW, SANDBOX_CHANNEL
from mercato.models import Trade
from mercato.models.ledger import Payment, PaymentTrade
from mercato.trade import service as trade
from mercato.web.payments import answer_callback
from tests.trade.conftest import Shop2, counts

SECRET = payments.callback_secret("test-server-key")


@pytest.fixture(autouse=True)
def _reset_clock() -> object:
    yield
    clock.reset()


async def _two_trades(w: Shop2, key: str = "co") -> list[Trade]:
    """One checkout across Alice's and Bob's shops: two trades (1000 and 99900 fen)."""
    async with w.db.write() as session:
        return await trade.checkout(
            session,
            w.buyer,
            lines=[(w.dress.id, w.red_m.id, 1), (w.phone.id, 0, 1)],
            address_id=w.address.id,
            checkout_key=key,
        )


async def _open(w: Shop2, tids: list[int], key: str = "sbx-1") -> Payment:
    async with w.db.write() as session:
        payment = await trade.pay(session, w.buyer, tids, channel="sandbox", key=key)
    assert isinstance(payment, Payment)
    return payment


def _form(payment: Payment, status: str = "paid", **override: object) -> dict[str, str]:
    """The callback form the sandbox channel posts."""
    signed = payments.callback_for(SECRET, payment, status)
    form = {
        "external_ref": str(signed["external_ref"]),
        "amount": str(signed["amount"]),
        "status": status,
        "timestamp": str(signed["timestamp"]),
        "sign": str(signed["signature"]),
    }
    form.update({name: str(value) for name, value in override.items()})
    return form


async def _statuses(db: Database) -> dict[int, str]:
    async with db.read() as session:
        return {t.id: t.status for t in await session.scalars(select(Trade).order_by(Trade.id))}


async def _money(db: Database) -> tuple[int, int, int]:
    async with db.read() as session:
        assert await ledger.trial_balance(session) == 0
        assert await ledger.unbalanced_transactions(session) == []
        return (
            await ledger.balance(session, ESCROW),
            await ledger.balance(session, SANDBOX_CHANNEL),
            len(list(await session.scalars(select(Payment)))),
        )


async def test_one_sandbox_payment_pays_two_trades(w: Shop2) -> None:
    # given: two trades of one checkout
    trades = await _two_trades(w)
    tids = [t.id for t in trades]
    # when: the buyer opens a sandbox payment (twice: the retry finds the same one)
    payment = await _open(w, tids)
    again = await _open(w, tids)
    # then: it is pending, covers both trades, and nothing is paid yet
    assert again.id == payment.id and payment.status == "pending"
    assert payment.amount == 1000 + 99900
    async with w.db.read() as session:
        rows = list(await session.scalars(select(PaymentTrade).order_by(PaymentTrade.trade_id)))
    assert [(r.trade_id, r.amount) for r in rows] == [(tids[0], 1000), (tids[1], 99900)]
    assert set((await _statuses(w.db)).values()) == {"WAIT_BUYER_PAY"}
    assert await _money(w.db) == (0, 0, 1)

    # when: the channel calls back "paid"
    answer = await answer_callback(w.db, SECRET, _form(payment))
    # then: both trades are paid, each trade's share sits in escrow
    assert answer.status_code == 200 and answer.body == b"success"
    assert set((await _statuses(w.db)).values()) == {"WAIT_SELLER_SEND_GOODS"}
    assert await _money(w.db) == (100900, -100900, 1)
    async with w.db.read() as session:
        assert await payments.escrow_held(session, tids[0]) == 1000
        assert await payments.escrow_held(session, tids[1]) == 99900

    # when: the channel delivers the same callback again
    before = await counts(w.db)
    replay = await answer_callback(w.db, SECRET, _form(payment))
    # then: "success" and nothing changes
    assert replay.status_code == 200 and replay.body == b"success"
    assert await counts(w.db) == before
    assert await _money(w.db) == (100900, -100900, 1)


async def test_failed_callback_leaves_the_trades_unpaid(w: Shop2) -> None:
    trades = await _two_trades(w)
    payment = await _open(w, [t.id for t in trades])
    answer = await answer_callback(w.db, SECRET, _form(payment, "failed"))
    assert answer.status_code == 200
    assert set((await _statuses(w.db)).values()) == {"WAIT_BUYER_PAY"}
    assert await _money(w.db) == (0, 0, 1)
    async with w.db.read() as session:
        failed = await session.get(Payment, payment.id)
        assert failed is not None and failed.status == "failed"
    # A new attempt (another key) opens a new payment for the same trades.
    other = await _open(w, [t.id for t in trades], key="sbx-2")
    assert other.id != payment.id and other.status == "pending"


@pytest.mark.parametrize(
    ("override", "code"),
    [
        ({"sign": "0" * 64}, "invalid_signature"),
        ({"amount": "1"}, "invalid_signature"),  # a tampered field breaks the signature
        ({"amount": "x"}, "invalid_field"),
        ({"sign": ""}, "missing_field"),
    ],
)
async def test_rejected_callbacks_change_nothing(
    w: Shop2, override: dict[str, str], code: str
) -> None:
    trades = await _two_trades(w)
    payment = await _open(w, [t.id for t in trades])
    before = await counts(w.db)
    answer = await answer_callback(w.db, SECRET, _form(payment, **override))
    assert answer.status_code == 400 and bytes(answer.body).decode().startswith(code)
    assert await counts(w.db) == before
    assert await _money(w.db) == (0, 0, 1)


async def test_stale_and_wrong_amount_callbacks_are_400(w: Shop2) -> None:
    trades = await _two_trades(w)
    payment = await _open(w, [t.id for t in trades])
    stale = _form(payment)
    clock.advance(timedelta(seconds=301))
    answer = await answer_callback(w.db, SECRET, stale)
    assert answer.status_code == 400 and b"stale_callback" in answer.body
    clock.reset()
    # Correctly signed, but for another amount than the payment's.
    fields = {"external_ref": payment.external_ref or "", "status": "paid"}
    ts = int(clock.now().timestamp())
    sign = payments.sign_callback(SECRET, amount=1, timestamp=ts, **fields)
    answer = await answer_callback(
        w.db, SECRET, {**fields, "amount": "1", "timestamp": str(ts), "sign": sign}
    )
    assert answer.status_code == 400 and b"amount_mismatch" in answer.body
    unknown = _form(payment)
    unknown["external_ref"] = "sbx_nope"
    assert (await answer_callback(w.db, SECRET, unknown)).status_code == 400  # sign covers ref
    unknown["sign"] = payments.sign_callback(
        SECRET, external_ref="sbx_nope", amount=payment.amount, status="paid", timestamp=ts
    )
    unknown["timestamp"] = str(ts)
    answer = await answer_callback(w.db, SECRET, unknown)
    assert answer.status_code == 404 and b"payment_not_found" in answer.body
    assert set((await _statuses(w.db)).values()) == {"WAIT_BUYER_PAY"}
    assert await _money(w.db) == (0, 0, 1)


async def test_paid_callback_for_a_closed_trade_sends_the_money_back(w: Shop2) -> None:
    # given: a pending sandbox payment for two trades, one of which closes meanwhile
    trades = await _two_trades(w)
    payment = await _open(w, [t.id for t in trades])
    async with w.db.write() as session:
        await trade.cancel_unpaid(session, w.buyer, trades[0].id)
    # when: the channel reports the payment paid
    answer = await answer_callback(w.db, SECRET, _form(payment))
    # then: accepted (the money has moved at the channel), and all of it went back
    assert answer.status_code == 200 and answer.body == b"success"
    async with w.db.read() as session:
        refunded = await session.get(Payment, payment.id)
        assert refunded is not None and refunded.status == "refunded"
    assert await _statuses(w.db) == {
        trades[0].id: "TRADE_CLOSED_BY_TAOBAO",
        trades[1].id: "WAIT_BUYER_PAY",
    }
    assert await _money(w.db) == (0, 0, 1)
    # and a replay changes nothing
    assert (await answer_callback(w.db, SECRET, _form(payment))).body == b"success"
    assert await _money(w.db) == (0, 0, 1)


async def test_paid_callback_after_a_wallet_payment_sends_the_sandbox_money_back(
    w: Shop2,
) -> None:
    trades = await _two_trades(w)
    tids = [t.id for t in trades]
    payment = await _open(w, tids)
    async with w.db.write() as session:
        await ledger.deposit(session, w.buyer.id, 100900, key="top-up")
        await trade.pay(session, w.buyer, tids, key="wallet-1")
    answer = await answer_callback(w.db, SECRET, _form(payment))
    assert answer.status_code == 200
    async with w.db.read() as session:
        assert await ledger.balance(session, ESCROW) == 100900  # the wallet's money only
        assert await ledger.balance(session, SANDBOX_CHANNEL) == 0
        assert await ledger.balance(session, ledger.wallet(w.buyer.id)) == 0
        assert await ledger.trial_balance(session) == 0


async def test_retried_wallet_pay_with_the_same_key_succeeds_once(w: Shop2) -> None:
    trades = await _two_trades(w)
    tids = [t.id for t in trades]
    async with w.db.write() as session:
        await ledger.deposit(session, w.buyer.id, 200000, key="top-up")
        first = await trade.pay(session, w.buyer, tids, key="pay-1")
    # when: the same request again, after it succeeded
    async with w.db.write() as session:
        again = await trade.pay(session, w.buyer, tids, key="pay-1")
    # then: the same trades, as success, charged once
    assert isinstance(first, list) and isinstance(again, list)
    assert [t.id for t in again] == [t.id for t in first] == tids
    assert all(t.status == "WAIT_SELLER_SEND_GOODS" for t in again)
    async with w.db.read() as session:
        assert await ledger.balance(session, ledger.wallet(w.buyer.id)) == 200000 - 100900
    # A different key for trades already paid is still an illegal transition...
    with pytest.raises(Conflict) as caught:
        async with w.db.write() as session:
            await trade.pay(session, w.buyer, tids, key="pay-2")
    assert caught.value.code == "illegal_transition"
    # ...and the same key for other trades is an idempotency conflict.
    with pytest.raises(payments.IdempotencyConflict):
        async with w.db.write() as session:
            await trade.pay(session, w.buyer, tids[:1], key="pay-1")
    async with w.db.read() as session:
        assert await ledger.balance(session, ledger.wallet(w.buyer.id)) == 200000 - 100900


async def test_sandbox_pay_refuses_what_cannot_be_paid(w: Shop2) -> None:
    trades = await _two_trades(w)
    async with w.db.write() as session:
        await trade.cancel_unpaid(session, w.buyer, trades[0].id)
    before = await counts(w.db)
    with pytest.raises(Conflict):
        async with w.db.write() as session:
            await trade.pay(session, w.buyer, [t.id for t in trades], channel="sandbox", key="k")
    assert await counts(w.db) == before
    assert await _money(w.db) == (0, 0, 0)
