"""What a person does first: search in Chinese and English, open an item, pick a SKU; sign up,
open a shop and list an item with SKUs and an image. Mobile viewport."""

from __future__ import annotations

import re
from io import BytesIO
from pathlib import Path

from PIL import Image
from playwright.sync_api import Page, expect

PASSWORD = "a long enough pw"


def search(page: Page, query: str) -> None:
    page.goto("/")
    page.get_by_role("search").locator("input").fill(query)
    page.get_by_role("search").get_by_role("button").click()
    expect(page).to_have_url(re.compile(r"/search\?q="))


def test_search_in_chinese_open_the_item_and_pick_a_sku(page: Page) -> None:
    search(page, "连衣裙")
    page.get_by_text("夏季新款碎花连衣裙").first.click()
    expect(page.locator("h1.item-title")).to_contain_text("连衣裙")

    for prop in page.locator("#sku-selector .sku-prop[data-pid]").all():
        prop.locator("button.chip:not([disabled])").first.click()

    price = page.locator("#sku-price")
    expect(price).to_have_text(re.compile(r"^\d+\.\d{2}$"))  # one SKU's price, not a range
    stock = page.locator("#sku-stock")
    expect(stock).to_contain_text(re.compile(r"\d+"))
    stock_number = int(re.findall(r"\d+", stock.inner_text())[-1])
    assert page.locator("#buy-quantity").get_attribute("max") == str(stock_number)


def test_search_in_english(page: Page) -> None:
    search(page, "dress")
    expect(page.get_by_text("Summer floral dress").first).to_be_visible()


def test_sign_up_open_a_shop_and_list_an_item_with_skus(page: Page, tmp_path: Path) -> None:
    page.goto("/signup")
    page.locator("input[name=nick]").fill("e2e_seller")
    page.locator("input[name=password]").fill(PASSWORD)
    page.locator("input[name=password2]").fill(PASSWORD)
    page.locator("form[action='/signup'] button[type=submit]").click()
    expect(page.locator(".nick")).to_have_text("e2e_seller")

    page.goto("/seller/shop/open")
    page.locator("input[name=title]").fill("端到端小店 E2E Shop")
    page.locator("main form button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/seller(\?.*)?$"))

    page.goto("/seller/items/new")
    page.locator("summary", has_text="服装鞋包").click()
    page.locator("summary", has_text="女装").click()
    page.locator("a[href^='/seller/items/new?cid=']", has_text="连衣裙").first.click()
    page.locator("input[name=title]").fill("端到端测试连衣裙 E2E test dress")
    for select in page.locator("#item-form select").all():
        select.select_option(index=1)
    for fieldset in page.locator("fieldset.sale-prop").all():
        for box in fieldset.locator("input[type=checkbox]").all()[:2]:
            box.check()
    expect(page.locator("#sku-matrix tbody tr")).to_have_count(4)
    page.locator("#bulk-price").fill("99.50")
    page.locator("#bulk-quantity").fill("7")
    page.locator("#bulk-apply").click()

    image = tmp_path / "photo.png"
    buffer = BytesIO()
    Image.new("RGB", (64, 64), "orange").save(buffer, format="PNG")
    image.write_bytes(buffer.getvalue())
    page.locator("input[type=file][name=images]").set_input_files(image)
    page.locator("input[name=approve_status][value=onsale]").check()
    page.locator("#item-form button[type=submit]").last.click()
    expect(page.locator(".error")).to_have_count(0)

    search(page, "端到端测试")
    page.get_by_text("端到端测试连衣裙").first.click()
    expect(page.locator("#sku-price")).to_have_text("99.50")
    expect(page.locator("#sku-stock")).to_contain_text("28")
    expect(page.locator("#major-image")).to_be_visible()
