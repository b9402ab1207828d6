"""The trade journey in a browser: a buyer checks out items of two shops at once and pays from
the wallet; the seller ships; the buyer follows the parcel, confirms receipt and rates."""

from __future__ import annotations

import re

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


def add_first_sku_to_cart(page: Page, item_path: str) -> None:
    page.goto(item_path)
    for prop in page.locator("#sku-selector .sku-prop[data-pid]").all():
        prop.locator("button.chip:not([disabled])").first.click()
    page.locator("#add-to-cart-button").click()
    expect(page).to_have_url(re.compile(r"/cart"))


def test_two_shops_one_checkout_pay_ship_confirm_rate(browser: Browser, live_server: str) -> None:
    buyer = signed_in(browser, live_server, "demo_buyer")
    # One item of demo_seller's shop (#1) and one of the next shop.
    add_first_sku_to_cart(buyer, "/item/1")
    buyer.goto("/shop/2")
    other = buyer.locator("a[href^='/item/']").first.get_attribute("href")
    assert other
    add_first_sku_to_cart(buyer, other)

    buyer.goto("/checkout")
    buyer.locator("form[action='/checkout'] button[type=submit]").last.click()
    expect(buyer).to_have_url(re.compile(r"/pay\?tids=\d+,\d+"))
    buyer.locator("form[action='/pay'] button[type=submit]").last.click()
    expect(buyer).to_have_url(re.compile(r"/trades"))
    expect(buyer.get_by_text("待发货 Paid, awaiting shipment")).to_have_count(2)

    seller = signed_in(browser, live_server, "demo_seller")
    seller.goto("/seller/trades?status=WAIT_SELLER_SEND_GOODS")
    seller.locator("a[href^='/seller/trades/']", has_text="#").first.click()
    tid = seller.url.rstrip("/").rsplit("/", 1)[-1]
    seller.locator("select[name=company_code]").select_option("SF")
    seller.locator("input[name=out_sid]").fill("SF123456789012")
    seller.locator("#ship button[type=submit]").click()
    expect(seller.locator("#ship")).to_have_count(0)

    buyer.goto(f"/trades/{tid}")
    expect(buyer.get_by_text("SF123456789012").first).to_be_visible()
    buyer.get_by_role("button", name=re.compile("确认收货")).click()
    buyer.locator(f"form[action='/trades/{tid}/rate'] textarea[name=content]").fill("很好 great")
    buyer.locator(f"form[action='/trades/{tid}/rate'] button[type=submit]").click()
    expect(buyer.get_by_text("已评价 You rated this trade.")).to_be_visible()
