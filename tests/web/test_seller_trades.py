"""The seller's after-sale pages: sold trades (shipping, memo, price, packing list),
refunds and ratings. Trades are made through the services, as a buyer would make them."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from mercato.kit.db import Database
from mercato.ledger.service import deposit
from mercato.logistics import service as logistics
from mercato.models import Refund, TradeRate
from mercato.ratings import service as ratings
from mercato.refunds import service as refunds
from mercato.trade import service as trade
from mercato.trade.schemas import AddressInput
from tests.factories.accounts import make_user
from tests.factories.catalog import CatalogTree
from tests.web.conftest import Browser, NewBrowser, add_item, make_shop, user_named

SF_WAYBILL = "SF123456789012"


@dataclass
class Bought:
    tid: int
    oid: int


async def _buy(db: Database, tree: CatalogTree, *, pay: bool, key: str = "k1") -> Bought:
    """Buyer "bob" checks out one of alice's dresses (199.00), and pays if asked."""
    item = await add_item(db, "alice", tree.item(approve_status="onsale"))
    async with db.write() as session:
        bob = await make_user(session, f"bob{key}")
        address = await trade.add_address(
            session,
            bob,
            AddressInput(
                name="张三",
                mobile="13800138000",
                state="浙江省",
                city="杭州市",
                district="西湖区",
                address="文三路 100 号",
                zip="310000",
            ),
        )
        trades = await trade.checkout(
            session, bob, lines=[(item.id, 0, 1)], address_id=address.id, checkout_key=key
        )
        tid = trades[0].id
        oid = trades[0].orders[0].id
        if pay:
            await deposit(session, bob.id, 100_000, key=f"dep-{key}")
            await trade.pay(session, bob, [tid], key=f"pay-{key}")
    return Bought(tid, oid)


async def _trade_status(db: Database, tid: int) -> str:
    alice = await user_named(db, "alice")
    async with db.read() as session:
        return (await trade.get_seller_trade(session, alice, tid)).status


async def test_paid_trade_is_listed_to_ship(
    seller: Browser, db: Database, tree: CatalogTree
) -> None:
    bought = await _buy(db, tree, pay=True)
    response = await seller.get("/seller/trades?status=WAIT_SELLER_SEND_GOODS")
    assert response.status_code == 200
    assert f'href="/seller/trades/{bought.tid}"' in response.text
    assert "bobk1" in response.text and "199.00" in response.text
    unpaid = await seller.get("/seller/trades?status=WAIT_BUYER_PAY")
    assert f'href="/seller/trades/{bought.tid}"' not in unpaid.text
    nav = await seller.get("/seller")
    assert 'href="/seller/trades"' in nav.text and 'href="/seller/ratings"' in nav.text


async def test_ship_with_sf_waybill(seller: Browser, db: Database, tree: CatalogTree) -> None:
    bought = await _buy(db, tree, pay=True)
    page = await seller.get(f"/seller/trades/{bought.tid}")
    assert 'name="company_code"' in page.text and "顺丰速运" in page.text
    response = await seller.post(
        f"/seller/trades/{bought.tid}/ship", {"company_code": "SF", "out_sid": SF_WAYBILL}
    )
    assert response.status_code == 303
    assert await _trade_status(db, bought.tid) == "WAIT_BUYER_CONFIRM_GOODS"
    detail = await seller.get(response.headers["location"])
    assert 'id="tracking"' in detail.text and SF_WAYBILL in detail.text
    assert "已发货 · Shipped." in detail.text
    assert f'action="/seller/trades/{bought.tid}/ship"' not in detail.text


async def test_bad_waybill_is_refused_inline(
    seller: Browser, db: Database, tree: CatalogTree
) -> None:
    bought = await _buy(db, tree, pay=True)
    await seller.get(f"/seller/trades/{bought.tid}")
    response = await seller.post(
        f"/seller/trades/{bought.tid}/ship", {"company_code": "SF", "out_sid": "12345"}
    )
    assert response.status_code == 422
    assert 'class="error" role="alert"' in response.text
    assert "is not a 顺丰速运 waybill number" in response.text
    assert 'value="12345"' in response.text
    assert await _trade_status(db, bought.tid) == "WAIT_SELLER_SEND_GOODS"
    alice = await user_named(db, "alice")
    async with db.read() as session:
        assert await logistics.trace(session, alice, bought.tid) == []


async def test_memo_and_flag_saved(seller: Browser, db: Database, tree: CatalogTree) -> None:
    bought = await _buy(db, tree, pay=False)
    await seller.get(f"/seller/trades/{bought.tid}")
    response = await seller.post(
        f"/seller/trades/{bought.tid}/memo", {"memo": "送小礼品 gift", "flag": "2"}
    )
    assert response.status_code == 303
    alice = await user_named(db, "alice")
    async with db.read() as session:
        t = await trade.get_seller_trade(session, alice, bought.tid)
    assert (t.seller_memo, t.seller_flag) == ("送小礼品 gift", 2)
    bad = await seller.post(f"/seller/trades/{bought.tid}/memo", {"memo": "x", "flag": "9"})
    assert bad.status_code == 422 and "must be 0 to 5" in bad.text


async def test_price_adjusted_before_payment(
    seller: Browser, db: Database, tree: CatalogTree
) -> None:
    bought = await _buy(db, tree, pay=False)
    page = await seller.get(f"/seller/trades/{bought.tid}")
    assert f'action="/seller/trades/{bought.tid}/price"' in page.text
    bad = await seller.post(f"/seller/trades/{bought.tid}/price", {"payment": "1.234"})
    assert bad.status_code == 422 and "at most 2 decimal places" in bad.text
    response = await seller.post(f"/seller/trades/{bought.tid}/price", {"payment": "150.50"})
    assert response.status_code == 303
    alice = await user_named(db, "alice")
    async with db.read() as session:
        t = await trade.get_seller_trade(session, alice, bought.tid)
    assert (t.payment, t.adjust_fee) == (15050, 15050 - 19900)


async def test_price_cannot_change_after_payment(
    seller: Browser, db: Database, tree: CatalogTree
) -> None:
    bought = await _buy(db, tree, pay=True)
    await seller.get(f"/seller/trades/{bought.tid}")
    response = await seller.post(f"/seller/trades/{bought.tid}/price", {"payment": "1.00"})
    assert response.status_code == 409
    assert 'class="error banner"' in response.text
    alice = await user_named(db, "alice")
    async with db.read() as session:
        assert (await trade.get_seller_trade(session, alice, bought.tid)).payment == 19900


async def _refund(db: Database, bought: Bought, buyer_nick: str = "bobk1") -> int:
    bob = await user_named(db, buyer_nick)
    async with db.write() as session:
        refund = await refunds.request_refund(
            session,
            bob,
            tid=bought.tid,
            oid=bought.oid,
            dispute_type="REFUND",
            refund_fee=19900,
            reason="不想要了 changed my mind",
        )
    return refund.id


async def test_refund_agreed_on_the_page(seller: Browser, db: Database, tree: CatalogTree) -> None:
    bought = await _buy(db, tree, pay=True)
    refund_id = await _refund(db, bought)
    listing = await seller.get("/seller/refunds?status=WAIT_SELLER_AGREE")
    assert f'href="/seller/refunds/{refund_id}"' in listing.text
    page = await seller.get(f"/seller/refunds/{refund_id}")
    assert "changed my mind" in page.text
    response = await seller.post(f"/seller/refunds/{refund_id}/agree")
    assert response.status_code == 303
    async with db.read() as session:
        refund = await session.get(Refund, refund_id)
    assert refund is not None and refund.status == "SUCCESS"
    again = await seller.post(f"/seller/refunds/{refund_id}/agree")
    assert again.status_code == 409 and 'class="error banner"' in again.text


async def test_refund_refusal_needs_a_reason(
    seller: Browser, db: Database, tree: CatalogTree
) -> None:
    bought = await _buy(db, tree, pay=True)
    refund_id = await _refund(db, bought)
    await seller.get(f"/seller/refunds/{refund_id}")
    empty = await seller.post(f"/seller/refunds/{refund_id}/refuse", {"reason": "  "})
    assert empty.status_code == 422 and "is required" in empty.text
    response = await seller.post(f"/seller/refunds/{refund_id}/refuse", {"reason": "已发货"})
    assert response.status_code == 303
    async with db.read() as session:
        refund = await session.get(Refund, refund_id)
    assert refund is not None and refund.status == "SELLER_REFUSE_BUYER"


async def test_reply_to_a_rating(seller: Browser, db: Database, tree: CatalogTree) -> None:
    bought = await _buy(db, tree, pay=True)
    alice = await user_named(db, "alice")
    bob = await user_named(db, "bobk1")
    async with db.write() as session:
        await logistics.offline_send(
            session, alice, bought.tid, company_code="SF", out_sid=SF_WAYBILL, simulate=False
        )
        await trade.confirm_receipt(session, bob, bought.tid)
        [rate] = await ratings.rate(session, bob, tid=bought.tid, result="good", content="很好")
    page = await seller.get("/seller/ratings")
    assert page.status_code == 200
    assert "很好" in page.text and "100.00%" in page.text
    response = await seller.post(f"/seller/ratings/{rate.id}/reply", {"reply": "谢谢惠顾"})
    assert response.status_code == 303
    async with db.read() as session:
        saved = await session.get(TradeRate, rate.id)
    assert saved is not None and saved.reply == "谢谢惠顾"
    again = await seller.post(f"/seller/ratings/{rate.id}/reply", {"reply": "再次"})
    assert again.status_code == 409


async def test_another_seller_gets_404(
    seller: Browser, db: Database, tree: CatalogTree, new_browser: NewBrowser
) -> None:
    bought = await _buy(db, tree, pay=True)
    refund_id = await _refund(db, bought)
    await make_shop(db, "carol", "Carol 店")
    carol = await new_browser()
    await carol.get("/login")
    login = await carol.post("/login", {"nick": "carol", "password": "correct horse battery"})
    assert login.status_code == 303
    for url in (
        f"/seller/trades/{bought.tid}",
        f"/seller/trades/{bought.tid}/packing-list",
        f"/seller/refunds/{refund_id}",
    ):
        assert (await carol.get(url)).status_code == 404, url
    ship = await carol.post(
        f"/seller/trades/{bought.tid}/ship", {"company_code": "SF", "out_sid": SF_WAYBILL}
    )
    assert ship.status_code == 404
    bad_ship = await carol.post(
        f"/seller/trades/{bought.tid}/ship", {"company_code": "SF", "out_sid": "1"}
    )
    assert bad_ship.status_code == 404
    assert (await carol.post(f"/seller/refunds/{refund_id}/agree")).status_code == 404
    memo = await carol.post(f"/seller/trades/{bought.tid}/memo", {"memo": "x", "flag": "1"})
    assert memo.status_code == 404
    assert await _trade_status(db, bought.tid) == "WAIT_SELLER_SEND_GOODS"
    async with db.read() as session:
        refund = await session.get(Refund, refund_id)
    assert refund is not None and refund.status == "WAIT_SELLER_AGREE"


async def test_post_without_csrf_is_refused(
    seller: Browser, db: Database, tree: CatalogTree
) -> None:
    bought = await _buy(db, tree, pay=True)
    await seller.get(f"/seller/trades/{bought.tid}")
    response = await seller.post(
        f"/seller/trades/{bought.tid}/ship",
        {"company_code": "SF", "out_sid": SF_WAYBILL},
        csrf=False,
    )
    assert response.status_code == 403
    assert await _trade_status(db, bought.tid) == "WAIT_SELLER_SEND_GOODS"


async def test_packing_list(seller: Browser, db: Database, tree: CatalogTree) -> None:
    bought = await _buy(db, tree, pay=True)
    response = await seller.get(f"/seller/trades/{bought.tid}/packing-list")
    assert response.status_code == 200
    assert "发货单" in response.text and "文三路 100 号" in response.text
    assert "张三" in response.text and "13800138000" in response.text
    assert "夏季新款碎花连衣裙" in response.text


@pytest.mark.parametrize("url", ["/seller/trades", "/seller/refunds", "/seller/ratings"])
async def test_empty_lists_render(seller: Browser, url: str) -> None:
    response = await seller.get(url)
    assert response.status_code == 200
    assert 'aria-current="page"' in response.text
