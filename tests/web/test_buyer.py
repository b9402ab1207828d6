"""The buyer's pages: cart, checkout across shops, wallet payment, the trade page with
tracking, receipt, rating and refunds, and the address book. Data is made through the
services; every step a person takes goes through the pages."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from mercato.kit.db import Database
from mercato.ledger import service as ledger
from mercato.logistics import service as logistics
from mercato.models import Trade
from tests.factories.catalog import CatalogTree
from tests.web.conftest import Browser, NewBrowser, add_item, make_shop, user_named

ADDRESS = {
    "name": "张三",
    "mobile": "13800138000",
    "state": "浙江省",
    "city": "杭州市",
    "district": "西湖区",
    "address": "文三路 1 号",
    "zip": "310000",
    "is_default": "1",
}


async def _buyer(new_browser: NewBrowser, db: Database, nick: str, fen: int = 0) -> Browser:
    browser = await new_browser()
    await browser.sign_up(nick)
    if fen:
        user = await user_named(db, nick)
        async with db.write() as session:
            await ledger.deposit(session, user.id, fen, key=f"test-{nick}")
    return browser


async def _two_shops(db: Database, tree: CatalogTree) -> tuple[int, int, int]:
    """Alice's dress with SKUs (and the id of its red S) and Bob's item without SKUs."""
    dress = await add_item(
        db,
        "alice",
        tree.item(
            approve_status="onsale",
            skus=[
                tree.sku("红色", "S", price="99.00", quantity=3),
                tree.sku("蓝色", "S", price="119.50", quantity=7),
            ],
        ),
    )
    await make_shop(db, "bob", "Bob 小店")
    plain = await add_item(
        db, "bob", tree.item(title="纯棉T恤 Cotton tee", price="20.00", approve_status="onsale")
    )
    red_s = next(s.id for s in dress.skus if s.price == 9900)
    return dress.id, red_s, plain.id


async def _trade_count(db: Database) -> int:
    async with db.read() as session:
        return int(await session.scalar(select(func.count()).select_from(Trade)) or 0)


async def _checkout(buyer: Browser) -> list[int]:
    """Add an address, submit the checkout page's form; the trade ids it redirects with."""
    assert (await buyer.post("/addresses", ADDRESS)).status_code == 303
    page = await buyer.get("/checkout")
    assert page.status_code == 200
    key = re.search(r'name="checkout_key" value="([^"]+)"', page.text)
    address = re.search(r'name="address_id" value="(\d+)" checked', page.text)
    assert key and address
    response = await buyer.post("/checkout", {"checkout_key": key[1], "address_id": address[1]})
    assert response.status_code == 303, response.text
    location = response.headers["location"]
    assert location.startswith("/pay?tids=")
    return [int(t) for t in location.removeprefix("/pay?tids=").split(",")]


async def _bought(
    new_browser: NewBrowser, db: Database, tree: CatalogTree, fen: int = 100_000
) -> tuple[Browser, int]:
    """A buyer who bought and paid for Bob's tee; the trade id."""
    _dress, _red_s, plain = await _two_shops(db, tree)
    buyer = await _buyer(new_browser, db, "carol", fen)
    await buyer.post("/cart/add", {"item_id": plain, "sku_id": "0", "quantity": "1"})
    [tid] = await _checkout(buyer)
    response = await buyer.post("/pay", {"tids": str(tid), "channel": "wallet"})
    assert response.status_code == 303
    return buyer, tid


class TestCartToTrades:
    async def test_cart_checkout_two_shops_is_idempotent_and_pays(
        self, seller: Browser, new_browser: NewBrowser, db: Database, tree: CatalogTree
    ) -> None:
        # given
        dress, red_s, plain = await _two_shops(db, tree)
        buyer = await _buyer(new_browser, db, "carol", 100_000)
        item_page = await buyer.get(f"/item/{dress}")
        assert 'action="/cart/add"' in item_page.text
        # when: both items go into the cart
        added = await buyer.post("/cart/add", {"item_id": dress, "sku_id": red_s, "quantity": "2"})
        assert added.status_code == 303 and added.headers["location"] == "/cart"
        await buyer.post("/cart/add", {"item_id": plain, "sku_id": "", "quantity": "1"})
        cart = await buyer.get("/cart")
        # then
        assert cart.status_code == 200
        assert "Alice 小铺" in cart.text and "Bob 小店" in cart.text
        assert "红色" in cart.text and "198.00" in cart.text and "218.00" in cart.text
        assert 'href="/checkout"' in cart.text

        # when: the checkout form is submitted twice
        await buyer.post("/addresses", ADDRESS)
        page = await buyer.get("/checkout")
        key = re.search(r'name="checkout_key" value="([^"]+)"', page.text)
        address = re.search(r'name="address_id" value="(\d+)" checked', page.text)
        message = re.search(r'name="(message_\d+)"', page.text)
        assert key and address and message
        form = {"checkout_key": key[1], "address_id": address[1], message[1]: "快点发货"}
        first = await buyer.post("/checkout", form)
        second = await buyer.post("/checkout", form)
        # then: two trades (one per shop), and the repeat made none
        assert first.status_code == 303 and second.status_code == 303
        assert first.headers["location"] == second.headers["location"]
        tids = first.headers["location"].removeprefix("/pay?tids=").split(",")
        assert len(tids) == 2 and await _trade_count(db) == 2
        assert "购物车是空的" in (await buyer.get("/cart")).text

        # when: paying from the wallet
        pay_page = await buyer.get(first.headers["location"])
        assert pay_page.status_code == 200 and "1000.00" in pay_page.text
        assert "218.00" in pay_page.text
        paid = await buyer.post("/pay", {"tids": ",".join(tids), "channel": "wallet"})
        # then
        assert paid.status_code == 303 and paid.headers["location"] == "/trades?notice=paid"
        listing = await buyer.get(paid.headers["location"])
        assert "付款成功" in listing.text
        assert listing.text.count('data-status="WAIT_SELLER_SEND_GOODS"') == 2
        details = [(await buyer.get(f"/trades/{tid}")).text for tid in tids]
        assert sum("快点发货" in text for text in details) == 1
        unpaid = await buyer.get("/trades?status=WAIT_BUYER_PAY")
        assert "没有订单" in unpaid.text

    async def test_insufficient_funds_is_shown_on_the_pay_page(
        self, seller: Browser, new_browser: NewBrowser, db: Database, tree: CatalogTree
    ) -> None:
        _dress, _red_s, plain = await _two_shops(db, tree)
        buyer = await _buyer(new_browser, db, "carol", 500)
        await buyer.post("/cart/add", {"item_id": plain, "quantity": "1"})
        [tid] = await _checkout(buyer)
        response = await buyer.post("/pay", {"tids": str(tid), "channel": "wallet"})
        assert response.status_code == 409
        assert "余额不足" in response.text
        detail = await buyer.get(f"/trades/{tid}")
        assert 'data-status="WAIT_BUYER_PAY"' in detail.text

    async def test_signed_out_add_to_cart_goes_to_sign_in(
        self, seller: Browser, anon: Browser, db: Database, tree: CatalogTree
    ) -> None:
        _dress, _red_s, plain = await _two_shops(db, tree)
        response = await anon.post("/cart/add", {"item_id": plain, "quantity": "1"})
        assert response.status_code == 303
        assert response.headers["location"] == f"/login?next=/item/{plain}"
        assert (await anon.get("/cart")).headers["location"].startswith("/login")

    async def test_buy_now_checks_out_one_line_and_leaves_the_cart_alone(
        self, seller: Browser, new_browser: NewBrowser, db: Database, tree: CatalogTree
    ) -> None:
        # given a cart holding Bob's tee
        dress, red_s, plain = await _two_shops(db, tree)
        buyer = await _buyer(new_browser, db, "carol", 100_000)
        await buyer.post("/addresses", ADDRESS)
        await buyer.post("/cart/add", {"item_id": plain, "quantity": "1"})
        assert 'formaction="/buy"' in (await buyer.get(f"/item/{dress}")).text
        # when: "buy now" on two of Alice's red S
        buy = await buyer.post("/buy", {"item_id": dress, "sku_id": red_s, "quantity": "2"})
        assert buy.status_code == 303
        assert buy.headers["location"] == f"/checkout?buy={dress}:{red_s}:2"
        page = await buyer.get(buy.headers["location"])
        # then the checkout shows that line only
        assert page.status_code == 200
        assert "红色" in page.text and "198.00" in page.text and "纯棉T恤" not in page.text
        key = re.search(r'name="checkout_key" value="([^"]+)"', page.text)
        address = re.search(r'name="address_id" value="(\d+)" checked', page.text)
        assert key and address and f'name="buy" value="{dress}:{red_s}:2"' in page.text
        # when it is placed twice
        form = {"checkout_key": key[1], "address_id": address[1], "buy": f"{dress}:{red_s}:2"}
        first = await buyer.post("/checkout", form)
        second = await buyer.post("/checkout", form)
        # then one trade of Alice's, and the tee is still in the cart
        assert first.status_code == second.status_code == 303
        assert first.headers["location"] == second.headers["location"]
        assert await _trade_count(db) == 1
        assert "纯棉T恤" in (await buyer.get("/cart")).text
        # and an item without SKUs (SKU 0) can be bought now too
        buy = await buyer.post("/buy", {"item_id": plain, "sku_id": "0", "quantity": "1"})
        page = await buyer.get(buy.headers["location"])
        assert f'name="buy" value="{plain}:0:1"' in page.text
        placed = await buyer.post("/checkout", form | {"checkout_key": "k2", "buy": f"{plain}:0:1"})
        assert placed.status_code == 303 and await _trade_count(db) == 2

    async def test_buy_now_refuses_what_cannot_be_bought(
        self,
        seller: Browser,
        new_browser: NewBrowser,
        anon: Browser,
        db: Database,
        tree: CatalogTree,
    ) -> None:
        dress, red_s, plain = await _two_shops(db, tree)
        signed_out = await anon.post("/buy", {"item_id": plain, "quantity": "1"})
        assert signed_out.headers["location"] == f"/login?next=/item/{plain}"
        buyer = await _buyer(new_browser, db, "carol")
        await buyer.post("/addresses", ADDRESS)
        # more than the stock: the page says so and offers no button to place the order
        page = await buyer.get(f"/checkout?buy={dress}:{red_s}:9")
        assert page.status_code == 200 and "库存不足" in page.text
        assert re.search(r'type="submit" disabled>提交订单', page.text)
        # a SKU of another item, posted anyway: refused, nothing made
        form = {"checkout_key": "k1", "address_id": "1", "buy": f"{plain}:{red_s}:1"}
        refused = await buyer.post("/checkout", form)
        assert refused.status_code == 422 and await _trade_count(db) == 0
        unreadable = await buyer.post("/checkout", form | {"buy": "x:y"})
        assert unreadable.status_code == 422 and await _trade_count(db) == 0
        bad_quantity = await buyer.post("/buy", {"item_id": plain, "quantity": "many"})
        assert bad_quantity.status_code == 422

    async def test_choosing_no_sku_is_refused_and_cart_lines_update(
        self, seller: Browser, new_browser: NewBrowser, db: Database, tree: CatalogTree
    ) -> None:
        dress, red_s, _plain = await _two_shops(db, tree)
        buyer = await _buyer(new_browser, db, "carol")
        refused = await buyer.post("/cart/add", {"item_id": dress, "sku_id": "", "quantity": "1"})
        assert refused.status_code == 422 and "Not added" in refused.text
        await buyer.post("/cart/add", {"item_id": dress, "sku_id": red_s, "quantity": "1"})
        line = re.search(r'action="/cart/(\d+)/update"', (await buyer.get("/cart")).text)
        assert line
        # more than the stock: the line shows the problem
        await buyer.post(f"/cart/{line[1]}/update", {"quantity": "5"})
        assert "库存不足" in (await buyer.get("/cart")).text
        bad = await buyer.post(f"/cart/{line[1]}/update", {"quantity": "0"})
        assert bad.status_code == 422
        await buyer.post(f"/cart/{line[1]}/remove")
        assert "购物车是空的" in (await buyer.get("/cart")).text


class TestTradePage:
    async def test_tracking_confirm_receipt_and_rate(
        self, seller: Browser, new_browser: NewBrowser, db: Database, tree: CatalogTree
    ) -> None:
        # given a paid trade the seller ships
        buyer, tid = await _bought(new_browser, db, tree)
        bob = await user_named(db, "bob")
        async with db.write() as session:
            await logistics.offline_send(
                session, bob, tid, company_code="SF", out_sid="SF100000000001"
            )
        # then the page shows the parcel
        detail = await buyer.get(f"/trades/{tid}")
        assert 'data-status="WAIT_BUYER_CONFIRM_GOODS"' in detail.text
        assert 'id="tracking"' in detail.text and "SF100000000001" in detail.text
        # when the buyer extends, then confirms receipt
        extended = await buyer.post(f"/trades/{tid}/extend")
        assert extended.status_code == 303
        again = await buyer.post(f"/trades/{tid}/extend")
        assert again.status_code == 409 and "already extended" in again.text
        confirmed = await buyer.post(f"/trades/{tid}/confirm")
        assert confirmed.headers["location"] == f"/trades/{tid}?notice=confirmed"
        detail = await buyer.get(f"/trades/{tid}")
        assert 'data-status="TRADE_FINISHED"' in detail.text
        assert f'action="/trades/{tid}/rate"' in detail.text
        # when rating
        rated = await buyer.post(f"/trades/{tid}/rate", {"result": "good", "content": "很好"})
        assert rated.status_code == 303
        detail = await buyer.get(rated.headers["location"])
        assert "评价成功" in detail.text and "已评价" in detail.text
        assert f'action="/trades/{tid}/rate"' not in detail.text
        twice = await buyer.post(f"/trades/{tid}/rate", {"result": "good"})
        assert twice.status_code == 409

    async def test_refund_request_on_a_paid_order(
        self, seller: Browser, new_browser: NewBrowser, db: Database, tree: CatalogTree
    ) -> None:
        buyer, tid = await _bought(new_browser, db, tree)
        detail = await buyer.get(f"/trades/{tid}")
        oid = re.search(r'name="oid" value="(\d+)"', detail.text)
        assert oid
        too_much = await buyer.post(
            f"/trades/{tid}/refund",
            {"oid": oid[1], "dispute_type": "REFUND", "refund_fee": "999", "reason": "不想要了"},
        )
        assert too_much.status_code == 409 and 'role="alert"' in too_much.text
        response = await buyer.post(
            f"/trades/{tid}/refund",
            {"oid": oid[1], "dispute_type": "REFUND", "refund_fee": "20.00", "reason": "不想要了"},
        )
        assert response.status_code == 303
        detail = await buyer.get(f"/trades/{tid}")
        assert 'data-refund-status="WAIT_SELLER_AGREE"' in detail.text
        assert 'name="oid"' not in detail.text

    async def test_cancel_an_unpaid_trade(
        self, seller: Browser, new_browser: NewBrowser, db: Database, tree: CatalogTree
    ) -> None:
        _dress, _red_s, plain = await _two_shops(db, tree)
        buyer = await _buyer(new_browser, db, "carol")
        await buyer.post("/cart/add", {"item_id": plain, "quantity": "1"})
        [tid] = await _checkout(buyer)
        response = await buyer.post(f"/trades/{tid}/cancel")
        assert response.status_code == 303
        detail = await buyer.get(f"/trades/{tid}")
        assert 'data-status="TRADE_CLOSED_BY_TAOBAO"' in detail.text

    async def test_another_buyer_gets_404(
        self, seller: Browser, new_browser: NewBrowser, db: Database, tree: CatalogTree
    ) -> None:
        _buyer_browser, tid = await _bought(new_browser, db, tree)
        stranger = await _buyer(new_browser, db, "dave")
        assert (await stranger.get(f"/trades/{tid}")).status_code == 404
        assert (await stranger.post(f"/trades/{tid}/confirm")).status_code == 404
        assert (await stranger.get(f"/pay?tids={tid}")).status_code == 404

    async def test_post_without_csrf_is_refused(
        self, seller: Browser, new_browser: NewBrowser, db: Database, tree: CatalogTree
    ) -> None:
        _dress, _red_s, plain = await _two_shops(db, tree)
        buyer = await _buyer(new_browser, db, "carol")
        response = await buyer.post("/cart/add", {"item_id": plain, "quantity": "1"}, csrf=False)
        assert response.status_code == 403
        assert "购物车是空的" in (await buyer.get("/cart")).text


class TestAddresses:
    async def test_add_default_and_delete(self, new_browser: NewBrowser, db: Database) -> None:
        buyer = await _buyer(new_browser, db, "carol")
        bad = await buyer.post("/addresses", {**ADDRESS, "mobile": "12"})
        assert bad.status_code == 422 and 'class="field has-error"' in bad.text
        assert (await buyer.post("/addresses", ADDRESS)).status_code == 303
        second = {**ADDRESS, "name": "李四", "is_default": ""}
        assert (await buyer.post("/addresses", second)).status_code == 303
        page = await buyer.get("/addresses")
        assert "张三" in page.text and "李四" in page.text
        ids = re.findall(r'action="/addresses/(\d+)/default"', page.text)
        assert len(ids) == 1
        assert (await buyer.post(f"/addresses/{ids[0]}/default")).status_code == 303
        page = await buyer.get("/addresses")
        assert f'action="/addresses/{ids[0]}/default"' not in page.text
        assert (await buyer.post(f"/addresses/{ids[0]}/delete")).status_code == 303
        assert "李四" not in (await buyer.get("/addresses")).text
        assert (await buyer.post(f"/addresses/{ids[0]}/delete")).status_code == 404


def test_wallet_pay_keys_name_the_trades_and_fit_the_column() -> None:
    from mercato.payments.service import MAX_EXTERNAL_REF_LENGTH
    from mercato.trade.service import wallet_pay_key

    assert wallet_pay_key([3, 1, 3]) == "pay:1,3"
    many = list(range(10**15, 10**15 + 50))  # the pay form's most, with long ids
    assert len(wallet_pay_key(many)) <= MAX_EXTERNAL_REF_LENGTH
    assert wallet_pay_key(many) == wallet_pay_key(list(reversed(many)))
    assert wallet_pay_key(many) != wallet_pay_key(many[:-1])
