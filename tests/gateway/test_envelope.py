"""Envelopes, scalars, fields and paging (TOP-PROTOCOL.md §5, §8)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime

import pytest

from mercato.gateway import envelope
from mercato.kit.errors import ValidationFailed


@pytest.mark.parametrize(
    ("method", "root"),
    [
        ("taobao.time.get", "time_get_response"),
        ("taobao.trades.sold.get", "trades_sold_get_response"),
        ("tmall.item.update.schema.get", "tmall_item_update_schema_get_response"),
        ("alibaba.x.y", "alibaba_x_y_response"),
    ],
)
def test_root_name(method: str, root: str) -> None:
    assert envelope.root_name(method) == root


RESULT = {
    "total_results": 1,
    "items": [
        {
            "num_iid": 1,
            "price": envelope.Fen(20007),
            "modified": datetime(2026, 1, 1, 4, 0, tzinfo=UTC),
            "skus": [{"sku_id": 5}],
            "gone": None,
        }
    ],
    "small_images": ["a.png"],
}
LISTS = {"items": "item", "skus": "sku", "small_images": "string"}


def test_success_body_wraps_lists_and_renders_scalars() -> None:
    body = envelope.success_body("taobao.items.onsale.get", RESULT, LISTS, "rid")
    inner = body["items_onsale_get_response"]
    assert inner["request_id"] == "rid"
    item = inner["items"]["item"][0]
    assert item == {
        "num_iid": 1,
        "price": "200.07",
        "modified": "2026-01-01 12:00:00",
        "skus": {"sku": [{"sku_id": 5}]},
    }
    assert inner["small_images"] == {"string": ["a.png"]}


def test_simplify_drops_root_and_wrappers() -> None:
    body = envelope.success_body("taobao.items.onsale.get", RESULT, LISTS, "rid", simplify=True)
    assert body["request_id"] == "rid"
    assert body["items"][0]["skus"] == [{"sku_id": 5}]
    assert body["small_images"] == ["a.png"]


def test_xml_lists_and_escaping() -> None:
    result = {"items": [{"title": '<b>&"x\x01'}, {"title": "二"}], "ok": True}
    body = envelope.success_body("taobao.items.get", result, {"items": "item"}, "rid")
    raw = envelope.to_xml(body)
    assert raw.startswith(b'<?xml version="1.0" encoding="utf-8" ?><items_get_response>')
    root = ET.fromstring(raw)
    assert [t.text for t in root.iter("title")] == ['<b>&"x', "二"]
    assert root.findtext("ok") == "true"
    assert root.findtext("request_id") == "rid"


def test_str_twins_and_money() -> None:
    assert envelope.with_str_twins({"tid": 12}, "tid", "oid") == {"tid": 12, "tid_str": "12"}
    assert envelope.money(5) == "0.05"


def test_fields_selection() -> None:
    selection = envelope.parse_fields(
        "num_iid, title,sku,item_img.url,location.state", LISTS | {"item_imgs": "item_img"}
    )
    obj = {
        "num_iid": 1,
        "title": "t",
        "desc": "no",
        "skus": [{"sku_id": 1, "price": "1.00"}],
        "item_imgs": [{"id": 1, "url": "u"}],
        "location": {"state": "浙江", "city": "杭州"},
    }
    assert selection.apply(obj) == {
        "num_iid": 1,
        "title": "t",
        "skus": [{"sku_id": 1, "price": "1.00"}],
        "item_imgs": [{"url": "u"}],
        "location": {"state": "浙江"},
    }
    assert selection.wants("skus") and not selection.wants("desc")
    with pytest.raises(ValidationFailed) as caught:
        envelope.require_fields(" , ")
    assert caught.value.problems[0].rule == "missing"


def test_paging() -> None:
    p = envelope.paging(None, None, max_page_size=100)
    assert (p.page_no, p.page_size, p.offset) == (1, 40, 0)
    p = envelope.paging(3, 10, max_page_size=100, use_has_next=True)
    assert p.offset == 20 and p.fetch == 11
    rows, extra = p.result(list(range(11)))
    assert len(rows) == 10 and extra == {"has_next": True}
    rows, extra = envelope.paging(1, 5, max_page_size=5).result([1, 2], total=2)
    assert extra == {"total_results": 2}
    with pytest.raises(ValidationFailed):
        envelope.paging(1, 101, max_page_size=100)
    with pytest.raises(ValidationFailed):
        envelope.paging(0, 1, max_page_size=100)
