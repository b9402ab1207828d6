"""The refund journey with returned goods in a browser: a buyer buys an item of demo_seller's
shop and pays from the wallet; the seller ships; the buyer asks to return the goods for the
full amount; the seller agrees; the buyer sends the goods back; the seller confirms them and
the money is back in the buyer's wallet, the trade closed."""

from __future__ import annotations

import re
from decimal import Decimal

from playwright.sync_api import Browser, Page, expect

DEMO_PASSWORD = "mercato-demo"


def signed_in(browser: Browser, base_url: str, nick: str) -> Page:
    context = browser.new_context(base_url=base_url, viewport={"width": 390, "height": 844})
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.goto("/login")
    page.locator("input[name=nick]").fill(nick)
    page.locator("input[name=password]").fill(DEMO_PASSWORD)
    page.locator("form[action='/login'] button[type=submit]").click()
    expect(page.locator(".nick")).to_have_text(nick)
    return page


def wallet_balance(page: Page, tid: str) -> str:
    """The wallet balance the pay page of the trade shows ("123.45")."""
    page.goto(f"/pay?tids={tid}")
    balance = page.locator("#wallet-balance")
    expect(balance).to_have_text(re.compile(r"^\d+\.\d{2}$"))
    return balance.inner_text()


def test_return_goods_and_refund_in_full(browser: Browser, live_server: str) -> None:
    # Given: the buyer buys an item of demo_seller's shop (#1) with "buy now".
    buyer = signed_in(browser, live_server, "demo_buyer")
    buyer.goto("/shop/1")
    item = buyer.locator("a[href^='/item/']").first.get_attribute("href")
    assert item
    buyer.goto(item)
    for prop in buyer.locator("#sku-selector .sku-prop[data-pid]").all():
        prop.locator("button.chip:not([disabled])").first.click()
    buyer.locator("#buy-now-button").click()
    expect(buyer).to_have_url(re.compile(r"/checkout\?buy=\d+:\d+:1"))
    buyer.locator("#checkout-form button[type=submit]").last.click()
    expect(buyer).to_have_url(re.compile(r"/pay\?tids=\d+$"))
    tid = buyer.url.rsplit("=", 1)[-1]
    before = buyer.locator("#wallet-balance").inner_text()
    pay_form = buyer.locator("form[action='/pay']")
    wallet_choice = pay_form.locator("input[type=radio][name=channel][value=wallet]")
    if wallet_choice.count():  # a pay page that offers more than the wallet
        wallet_choice.check()
    pay_form.locator("button[type=submit]").click()
    expect(buyer).to_have_url(re.compile(r"/trades"))
    buyer.goto(f"/trades/{tid}")
    expect(buyer.locator("[data-status]").first).to_have_attribute(
        "data-status", "WAIT_SELLER_SEND_GOODS"
    )
    paid = buyer.locator("section.panel", has_text="实付 Payment").locator(".price.big")
    payment = paid.inner_text()
    assert Decimal(payment) > 0
    assert Decimal(wallet_balance(buyer, tid)) == Decimal(before) - Decimal(payment)

    # And: the seller ships it; a waybill that is not an SF number is refused first.
    seller = signed_in(browser, live_server, "demo_seller")
    seller.goto(f"/seller/trades/{tid}")
    ship = seller.locator("#ship")
    ship.locator("select[name=company_code]").select_option("SF")
    ship.locator("input[name=out_sid]").fill("SF123")
    ship.locator("button[type=submit]").click()
    expect(ship.locator("em.error")).to_contain_text("waybill")
    expect(seller.locator(".trade-status")).to_have_text("待发货 To ship")
    waybill = f"SF7{int(tid):011d}"
    ship.locator("select[name=company_code]").select_option("SF")
    ship.locator("input[name=out_sid]").fill(waybill)
    ship.locator("button[type=submit]").click()
    expect(seller.locator("#ship")).to_have_count(0)
    expect(seller.get_by_text(waybill).first).to_be_visible()

    # When: the buyer asks for more than was paid, the page refuses and nothing changes.
    buyer.goto(f"/trades/{tid}")
    expect(buyer.locator("[data-status]").first).to_have_attribute(
        "data-status", "WAIT_BUYER_CONFIRM_GOODS"
    )
    refund_form = buyer.locator(f"form[action='/trades/{tid}/refund']")
    buyer.get_by_text("申请退款 Request a refund").click()
    refund_form.locator("select[name=dispute_type]").select_option("REFUND_AND_RETURN")
    expect(refund_form.locator("input[name=refund_fee]")).to_have_value(payment)
    too_much = str(Decimal(payment) + Decimal("0.01"))
    refund_form.locator("input[name=refund_fee]").fill(too_much)
    refund_form.locator("input[name=reason]").fill("尺码不合适 Wrong size")
    refund_form.locator("button[type=submit]").click()
    expect(buyer.get_by_role("alert")).to_contain_text("refund_fee")
    expect(buyer.locator("[data-refund-status]")).to_have_count(0)
    buyer.goto(f"/trades/{tid}")
    expect(buyer.locator("[data-refund-status]")).to_have_count(0)

    # And: asks to return the goods for the full amount.
    buyer.get_by_text("申请退款 Request a refund").click()
    refund_form.locator("select[name=dispute_type]").select_option("REFUND_AND_RETURN")
    refund_form.locator("input[name=refund_fee]").fill(payment)
    refund_form.locator("input[name=reason]").fill("尺码不合适 Wrong size")
    refund_form.locator("textarea[name=desc]").fill("退货退款 Sending it back")
    refund_form.locator("button[type=submit]").click()
    expect(buyer.get_by_role("status")).to_contain_text("退款申请已提交")
    expect(buyer.locator("[data-refund-status]")).to_have_attribute(
        "data-refund-status", "WAIT_SELLER_AGREE"
    )

    # And: the seller agrees to the return.
    seller.goto("/seller/refunds?status=WAIT_SELLER_AGREE")
    row = seller.locator("table.seller-refunds tbody tr", has_text=f"#{tid}")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("退货退款 Return")
    row.locator("a[href^='/seller/refunds/']").click()
    expect(seller.locator(".refund-status")).to_have_text("待处理 To answer")
    seller.get_by_role("button", name=re.compile("同意退货")).click()
    expect(seller.get_by_role("status")).to_contain_text("已同意退款")
    expect(seller.locator(".refund-status")).to_have_text("待买家退货 Awaiting return")
    refund_url = seller.url.split("?", 1)[0]

    # And: the buyer sends the goods back.
    buyer.goto(f"/trades/{tid}")
    expect(buyer.locator("[data-refund-status]")).to_have_attribute(
        "data-refund-status", "WAIT_BUYER_RETURN_GOODS"
    )
    return_waybill = f"YT7{int(tid):012d}"
    return_form = buyer.locator("form[action$='/return']")
    return_form.locator("input[name=company_code]").fill("YTO")
    return_form.locator("input[name=waybill]").fill(return_waybill)
    return_form.locator("button[type=submit]").click()
    expect(buyer.get_by_role("status")).to_contain_text("退款已更新")
    expect(buyer.locator("[data-refund-status]")).to_have_attribute(
        "data-refund-status", "WAIT_SELLER_CONFIRM_GOODS"
    )

    # And: the seller confirms the returned goods.
    seller.goto(refund_url)
    expect(seller.get_by_text(f"YTO {return_waybill}")).to_be_visible()
    seller.get_by_role("button", name=re.compile("确认收到退货")).click()
    expect(seller.get_by_role("status")).to_contain_text("已确认收到退货")
    expect(seller.locator(".refund-status")).to_have_text("退款成功 Refunded")

    # Then: the buyer sees the refund done, the trade closed and the money back.
    buyer.goto(f"/trades/{tid}")
    refund = buyer.locator("[data-refund-status]")
    expect(refund).to_have_attribute("data-refund-status", "SUCCESS")
    expect(refund).to_have_text("退款成功 Refunded")
    status = buyer.locator("[data-status]").first
    expect(status).to_have_attribute("data-status", "TRADE_CLOSED")
    expect(status).to_contain_text("交易关闭")
    assert wallet_balance(buyer, tid) == before

    seller.goto(f"/seller/trades/{tid}")
    expect(seller.locator(".trade-status")).to_have_text("退款关闭 Refunded")
