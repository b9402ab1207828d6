"""The four seller methods of TOP-PROTOCOL.md §14.1 from py-taobao-open (PyPI, unmodified;
small ``RestApi`` subclasses, as its users write for methods it lacks) and from
mercato.sdk, with demo_seller's token from ``mercato token issue`` and a paid trade from
``mercato sandbox order --pay`` against the live demo."""

from __future__ import annotations

import json
from typing import Any

import pytest
import taobao_open
from taobao_open.api.base import RestApi, TopException

from mercato.sdk import TopClient
from mercato.sdk.client import listed
from tests.compat.conftest import CompatApp
from tests.live import LiveDemo


def _request(app: CompatApp, method: str, **params: Any) -> RestApi:
    """A py-taobao-open request for ``method``: a RestApi subclass whose attributes are the
    business parameters, the way the library's own request classes are written."""

    class Request(RestApi):  # type: ignore[misc]
        def getapiname(self) -> str:
            return method

    request = Request(app.host, app.port)
    request.set_app_info(taobao_open.appinfo(app.app_key, app.app_secret))
    for name, value in params.items():
        setattr(request, name, value)
    return request


@pytest.fixture(scope="module")
def seller_token(live_demo: LiveDemo, compat_app: CompatApp) -> str:
    issued = live_demo.cli(
        "token", "issue", "--app-key", compat_app.app_key, "--nick", "demo_seller", "--json"
    )
    return str(json.loads(issued)["access_token"])


@pytest.fixture(scope="module")
def paid_tid(live_demo: LiveDemo, compat_app: CompatApp, seller_token: str) -> int:
    """A trade demo_buyer placed and paid for one of demo_seller's items."""
    listing = _request(
        compat_app, "taobao.items.onsale.get", fields="num_iid,num", page_size=40
    ).getResponse(seller_token)
    items = listed(listing["items_onsale_get_response"].get("items"), "item")
    item = next(i for i in items if i["num"] > 0)
    detail = _request(
        compat_app, "taobao.item.seller.get", fields="num_iid,sku", num_iid=item["num_iid"]
    ).getResponse(seller_token)["item_seller_get_response"]["item"]
    skus = [s for s in listed(detail.get("skus"), "sku") if s["quantity"] > 0]
    sku_id = str(skus[0]["sku_id"]) if skus else "0"
    placed = live_demo.cli(
        "sandbox",
        "order",
        "--buyer",
        "demo_buyer",
        "--num-iid",
        str(item["num_iid"]),
        "--sku-id",
        sku_id,
        "--pay",
        "--json",
    )
    return int(json.loads(placed)["tid"])


def test_items_onsale_get(compat_app: CompatApp, seller_token: str) -> None:
    response = _request(
        compat_app, "taobao.items.onsale.get", fields="num_iid,title,price", page_no=1, page_size=5
    ).getResponse(seller_token)
    body = response["items_onsale_get_response"]
    items = listed(body["items"], "item")
    assert body["total_results"] >= len(items) == 5
    assert all(set(i) <= {"num_iid", "num_iid_str", "title", "price"} for i in items)
    assert all(isinstance(i["price"], str) and "." in i["price"] for i in items)


def test_trades_sold_get_and_fullinfo(
    compat_app: CompatApp, seller_token: str, paid_tid: int
) -> None:
    sold = _request(
        compat_app,
        "taobao.trades.sold.get",
        fields="tid,status,payment,orders",
        status="WAIT_SELLER_SEND_GOODS",
    ).getResponse(seller_token)["trades_sold_get_response"]
    assert paid_tid in [t["tid"] for t in listed(sold["trades"], "trade")]
    full = _request(
        compat_app,
        "taobao.trade.fullinfo.get",
        tid=paid_tid,
        fields="tid,status,buyer_nick,payment,created,orders",
    ).getResponse(seller_token)["trade_fullinfo_get_response"]["trade"]
    assert (full["tid"], full["status"], full["buyer_nick"]) == (
        paid_tid,
        "WAIT_SELLER_SEND_GOODS",
        "demo_buyer",
    )
    assert len(full["created"]) == 19 and listed(full["orders"], "order")


def test_offline_send_ships_once(compat_app: CompatApp, seller_token: str, paid_tid: int) -> None:
    def send(waybill: str) -> dict[str, Any]:
        request = _request(
            compat_app,
            "taobao.logistics.offline.send",
            tid=paid_tid,
            out_sid=waybill,
            company_code="SF",
        )
        return dict(request.getResponse(seller_token))

    waybill = f"SF{paid_tid:012d}"
    shipped = send(waybill)
    assert shipped["logistics_offline_send_response"]["shipping"] == {"is_success": True}
    # a client retrying the same call is answered the same (TOP clients retry writes) …
    retried = send(waybill)["logistics_offline_send_response"]
    assert retried["shipping"] == {"is_success": True}
    # … but shipping it again with another waybill is a business error
    with pytest.raises(TopException) as again:
        send(f"SF{paid_tid + 1:012d}")
    assert again.value.errorcode == 15 and again.value.subcode.startswith("isv.")


@pytest.mark.parametrize("sign_method", ["hmac", "hmac-sha256"])
def test_the_sdk_reads_the_same_with_everything_in_the_body(
    compat_app: CompatApp, seller_token: str, paid_tid: int, sign_method: str
) -> None:
    with TopClient(
        compat_app.url, compat_app.app_key, compat_app.app_secret, sign_method=sign_method
    ) as client:
        trade = client.call(
            "taobao.trade.fullinfo.get",
            {"tid": paid_tid, "fields": "tid,status"},
            session=seller_token,
        )["trade"]
        items = client.call(
            "taobao.items.onsale.get", {"fields": "num_iid", "page_size": 3}, session=seller_token
        )
    assert trade["tid"] == paid_tid
    assert len(listed(items["items"], "item")) == 3
