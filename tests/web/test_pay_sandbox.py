"""Paying through the Alipay-shaped sandbox channel, through the pages: the pay page's
channel choice, the sandbox cashier, the simulated outcome, and the server-to-server
callback route (CSRF-exempt, HMAC-signed). Data is made through the services; every step a
person (or the channel) takes goes through HTTP."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from fastapi import FastAPI
from sqlalchemy import select

from mercato import payments
from mercato.kit.clock import clock
from mercato.kit.db import Database
from mercato.ledger import ESCROW, SANDBOX_CHANNEL
from mercato.ledger import service as ledger
from mercato.models import Trade
from mercato.models.ledger import Payment
from tests.factories.catalog import CatalogTree
from tests.web.conftest import Browser, NewBrowser
from tests.web.test_buyer import _buyer, _checkout, _two_shops

CALLBACK = "/payments/sandbox/callback"


@pytest.fixture(autouse=True)
def _reset_clock() -> object:
    yield
    clock.reset()


def _secret(app: FastAPI) -> str:
    return payments.callback_secret(str(app.state.secret_key))


async def _two_trades(
    new_browser: NewBrowser, db: Database, tree: CatalogTree
) -> tuple[Browser, list[int]]:
    """Carol checks out Alice's dress and Bob's tee (two trades) and has no wallet money."""
    dress, red_s, plain = await _two_shops(db, tree)
    buyer = await _buyer(new_browser, db, "carol")
    await buyer.post("/cart/add", {"item_id": dress, "sku_id": red_s, "quantity": "1"})
    await buyer.post("/cart/add", {"item_id": plain, "sku_id": "", "quantity": "1"})
    return buyer, await _checkout(buyer)


async def _choose_sandbox(buyer: Browser, tids: list[int]) -> str:
    """On the pay page, choose the sandbox channel and pay: the cashier's path."""
    page = await buyer.get("/pay?tids=" + ",".join(map(str, tids)))
    assert "沙箱支付" in page.text and 'value="sandbox"' in page.text
    pay_key = re.search(r'name="pay_key" value="([0-9a-f]{32})"', page.text)
    assert pay_key
    form = {"tids": ",".join(map(str, tids)), "channel": "sandbox", "pay_key": pay_key[1]}
    response = await buyer.post("/pay", form)
    assert response.status_code == 303, response.text
    cashier = response.headers["location"]
    assert cashier.startswith("/pay/sandbox/sbx_")
    # A double submit of the same form opens no second payment.
    assert (await buyer.post("/pay", form)).headers["location"] == cashier
    return cashier


async def _statuses(db: Database) -> set[str]:
    async with db.read() as session:
        return set(await session.scalars(select(Trade.status)))


async def _books(db: Database) -> tuple[int, int]:
    async with db.read() as session:
        assert await ledger.trial_balance(session) == 0
        assert await ledger.unbalanced_transactions(session) == []
        return await ledger.balance(session, ESCROW), await ledger.balance(session, SANDBOX_CHANNEL)


async def _payment(db: Database) -> Payment:
    async with db.read() as session:
        [payment] = list(await session.scalars(select(Payment)))
    return payment


class TestSandboxThroughThePages:
    async def test_pay_with_sandbox_then_simulate_success(
        self, seller: Browser, new_browser: NewBrowser, db: Database, tree: CatalogTree
    ) -> None:
        # given: two trades of one checkout (99.00 + 20.00)
        buyer, tids = await _two_trades(new_browser, db, tree)
        # when: the buyer picks the sandbox and lands on its cashier
        cashier_url = await _choose_sandbox(buyer, tids)
        cashier = await buyer.get(cashier_url)
        # then: the cashier shows the amount, both trades and the two buttons
        assert cashier.status_code == 200
        assert "119.00" in cashier.text
        assert all(f"Trade {tid}" in cashier.text for tid in tids)
        assert "模拟支付成功 Simulate success" in cashier.text
        assert "模拟支付失败 Simulate failure" in cashier.text
        assert await _statuses(db) == {"WAIT_BUYER_PAY"}

        # when: "simulate success"
        done = await buyer.post(cashier_url, {"outcome": "paid"})
        # then: to the trades list, both trades paid, the escrow holds the amount
        assert done.status_code == 303 and done.headers["location"] == "/trades?notice=paid"
        listing = await buyer.get(done.headers["location"])
        assert "付款成功" in listing.text
        assert listing.text.count('data-status="WAIT_SELLER_SEND_GOODS"') == 2
        assert await _statuses(db) == {"WAIT_SELLER_SEND_GOODS"}
        assert await _books(db) == (11900, -11900)
        async with db.read() as session:
            held = [await payments.escrow_held(session, tid) for tid in tids]
        assert sorted(held) == [2000, 9900]
        # The cashier now only says it is paid.
        after = await buyer.get(cashier_url)
        assert "模拟支付成功" not in after.text and 'data-status="paid"' in after.text

    async def test_simulated_failure_leaves_the_trades_unpaid(
        self, seller: Browser, new_browser: NewBrowser, db: Database, tree: CatalogTree
    ) -> None:
        buyer, tids = await _two_trades(new_browser, db, tree)
        cashier_url = await _choose_sandbox(buyer, tids)
        failed = await buyer.post(cashier_url, {"outcome": "failed"})
        assert failed.status_code == 303 and failed.headers["location"] == cashier_url
        page = await buyer.get(cashier_url)
        assert "支付失败" in page.text and "/pay?tids=" in page.text
        assert await _statuses(db) == {"WAIT_BUYER_PAY"}
        assert await _books(db) == (0, 0)
        # A fresh pay page opens a new payment, which can then succeed.
        second = await _choose_sandbox(buyer, tids)
        assert second != cashier_url
        done = await buyer.post(second, {"outcome": "paid"})
        assert done.headers["location"] == "/trades?notice=paid"
        assert await _statuses(db) == {"WAIT_SELLER_SEND_GOODS"}

    async def test_only_the_buyer_sees_the_cashier(
        self, seller: Browser, new_browser: NewBrowser, db: Database, tree: CatalogTree
    ) -> None:
        buyer, tids = await _two_trades(new_browser, db, tree)
        cashier_url = await _choose_sandbox(buyer, tids)
        stranger = await _buyer(new_browser, db, "mallory")
        assert (await stranger.get(cashier_url)).status_code == 404
        assert (await stranger.post(cashier_url, {"outcome": "paid"})).status_code == 404
        assert (await buyer.get("/pay/sandbox/sbx_unknown")).status_code == 404
        # a wallet payment's reference is no sandbox cashier
        assert (await buyer.get("/pay/sandbox/pay:" + str(tids[0]))).status_code == 404
        assert await _statuses(db) == {"WAIT_BUYER_PAY"}

    async def test_cashier_buttons_need_the_csrf_token(
        self, seller: Browser, new_browser: NewBrowser, db: Database, tree: CatalogTree
    ) -> None:
        buyer, tids = await _two_trades(new_browser, db, tree)
        cashier_url = await _choose_sandbox(buyer, tids)
        refused = await buyer.post(cashier_url, {"outcome": "paid"}, csrf=False)
        assert refused.status_code == 403
        assert await _statuses(db) == {"WAIT_BUYER_PAY"}


class TestCallbackRoute:
    async def _pending(
        self, new_browser: NewBrowser, db: Database, tree: CatalogTree
    ) -> tuple[Browser, Payment]:
        buyer, tids = await _two_trades(new_browser, db, tree)
        await _choose_sandbox(buyer, tids)
        return buyer, await _payment(db)

    @staticmethod
    def _form(app: FastAPI, payment: Payment, status: str = "paid") -> dict[str, str]:
        signed = payments.callback_for(_secret(app), payment, status)
        return {
            "external_ref": str(signed["external_ref"]),
            "amount": str(signed["amount"]),
            "status": status,
            "timestamp": str(signed["timestamp"]),
            "sign": str(signed["signature"]),
        }

    async def test_signed_callback_without_csrf_pays_and_replay_is_success(
        self, app: FastAPI, seller: Browser, anon: Browser, new_browser: NewBrowser,
        db: Database, tree: CatalogTree,
    ) -> None:  # fmt: skip
        _, payment = await self._pending(new_browser, db, tree)
        form = self._form(app, payment)
        # the channel is a server: no cookies, no CSRF token
        first = await anon.client.post(CALLBACK, data=form)
        assert first.status_code == 200 and first.text == "success"
        assert await _statuses(db) == {"WAIT_SELLER_SEND_GOODS"}
        assert await _books(db) == (11900, -11900)
        replay = await anon.client.post(CALLBACK, data=form)
        assert replay.status_code == 200 and replay.text == "success"
        assert await _books(db) == (11900, -11900)
        assert (await _payment(db)).status == "paid"

    async def test_forged_stale_and_wrong_amount_are_400(
        self, app: FastAPI, seller: Browser, anon: Browser, new_browser: NewBrowser,
        db: Database, tree: CatalogTree,
    ) -> None:  # fmt: skip
        _, payment = await self._pending(new_browser, db, tree)
        good = self._form(app, payment)
        forged = {**good, "sign": payments.sign_callback(
            "not-the-secret", external_ref=good["external_ref"], amount=payment.amount,
            status="paid", timestamp=int(good["timestamp"]),
        )}  # fmt: skip
        ts = int(clock.now().timestamp())
        wrong_amount = {
            **good,
            "amount": "1",
            "timestamp": str(ts),
            "sign": payments.sign_callback(
                _secret(app), external_ref=good["external_ref"], amount=1, status="paid",
                timestamp=ts,
            ),
        }  # fmt: skip
        cases = [(forged, "invalid_signature"), (wrong_amount, "amount_mismatch")]
        for form, code in cases:
            response = await anon.client.post(CALLBACK, data=form)
            assert response.status_code == 400 and response.text.startswith(code), response.text
        clock.advance(timedelta(minutes=6))
        stale = await anon.client.post(CALLBACK, data=good)
        assert stale.status_code == 400 and stale.text.startswith("stale_callback")
        missing = await anon.client.post(CALLBACK, data={"external_ref": good["external_ref"]})
        assert missing.status_code == 400 and missing.text.startswith("missing_field")
        assert await _statuses(db) == {"WAIT_BUYER_PAY"}
        assert await _books(db) == (0, 0)
        assert (await _payment(db)).status == "pending"


class TestWalletRetry:
    async def test_repeating_a_successful_wallet_pay_is_success(
        self, seller: Browser, new_browser: NewBrowser, db: Database, tree: CatalogTree
    ) -> None:
        _dress, _red_s, plain = await _two_shops(db, tree)
        buyer = await _buyer(new_browser, db, "carol", 10_000)
        await buyer.post("/cart/add", {"item_id": plain, "quantity": "1"})
        [tid] = await _checkout(buyer)
        form = {"tids": str(tid), "channel": "wallet"}
        first = await buyer.post("/pay", form)
        again = await buyer.post("/pay", form)
        assert first.status_code == again.status_code == 303
        assert again.headers["location"] == "/trades?notice=paid"
        user_id = (await _payment(db)).buyer_id
        async with db.read() as session:
            assert await ledger.balance(session, ledger.wallet(user_id)) == 10_000 - 2000
