"""The logistics methods of the TOP gateway (taobao.logistics.*), called through
``/router/rest`` like the official SDK (Style A). The world is the trade methods' one."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import func, select

from mercato.logistics.carriers import CARRIERS
from mercato.models import Shipment
from mercato.trade import events as ev
from tests.factories.gateway import make_app
from tests.gateway.conftest import error_of, style_a, system
from tests.gateway.test_trade_methods import TW, buy, call, events, fail, load, ship, snapshot, top
from tests.gateway.test_trade_methods import reset_clock as reset_clock
from tests.gateway.test_trade_methods import tw as tw

WAYBILL = "SF123456789012"


async def full_snapshot(tw: TW) -> dict[str, Any]:
    out = await snapshot(tw)
    async with tw.db.read() as session:
        out["shipments"] = await session.scalar(select(func.count()).select_from(Shipment))
    return out


async def trade_events(tw: TW, tid: int) -> list[str]:
    """The trade's own events (the parcel's trace steps share its subject)."""
    return [e for e in await events(tw, tid) if e.startswith("taobao_trade_")]


# --- taobao.logistics.companies.get --------------------------------------------------


async def test_companies_get_lists_the_carriers_without_a_session(
    client: httpx.AsyncClient, tw: TW
) -> None:
    body = await call(client, tw, "taobao.logistics.companies.get", None, fields="code,name")
    inner = body["logistics_companies_get_response"]
    assert set(inner) == {"logistics_companies", "request_id"}
    assert inner["logistics_companies"]["logistics_company"] == [
        {"code": spec.code, "name": spec.name} for spec in CARRIERS
    ]
    body = await call(
        client, tw, "taobao.logistics.companies.get", "alice", fields="id,code,name,reg_mail_no"
    )
    sf = body["logistics_companies_get_response"]["logistics_companies"]["logistics_company"][0]
    assert set(sf) == {"id", "code", "name", "reg_mail_no"}
    assert isinstance(sf["id"], int)
    assert (sf["code"], sf["reg_mail_no"]) == ("SF", r"^SF\d{12}$")


async def test_companies_get_errors(client: httpx.AsyncClient, tw: TW) -> None:
    err = await fail(client, tw, "taobao.logistics.companies.get", None)
    assert (err["code"], err["sub_code"]) == (40, "isv.missing-parameter:fields")
    err = await fail(
        client, tw, "taobao.logistics.companies.get", None, fields="code", is_recommended="maybe"
    )
    assert (err["code"], err["sub_code"]) == (41, "isv.invalid-parameter:is_recommended")


async def test_companies_get_needs_the_logistics_package(client: httpx.AsyncClient, tw: TW) -> None:
    async with tw.db.write() as session:
        other, secret = await make_app(session, tw.bob, packages=("trades-read",))
    world = TW(**{**tw.__dict__, "app": other, "secret": secret})
    sys_params = system(world, "taobao.logistics.companies.get")  # type: ignore[arg-type]
    response = await style_a(client, world, sys_params, {"fields": "code"})  # type: ignore[arg-type]
    err = error_of(response)
    assert (err["code"], err["sub_code"]) == (11, "isv.permission-api-package-not-allowed")


# --- taobao.logistics.offline.send ---------------------------------------------------


async def test_offline_send_ships_the_trade_like_the_page(
    client: httpx.AsyncClient, tw: TW
) -> None:
    tid = await buy(tw, [(tw.dress.id, tw.red_m.id, 1), (tw.dress.id, tw.blue_l.id, 1)], "a")
    body = await call(
        client, tw, "taobao.logistics.offline.send", "alice",
        tid=tid, out_sid=" sf123456789012 ", company_code="sf",
    )  # fmt: skip
    inner = body["logistics_offline_send_response"]
    assert set(inner) == {"shipping", "request_id"}
    assert inner["shipping"] == {"is_success": True}
    t = await load(tw, tid)
    assert t.status == "WAIT_BUYER_CONFIRM_GOODS"
    assert t.consign_time is not None and t.timeout_action_time is not None
    assert [(o.logistics_company, o.invoice_no) for o in t.orders] == [("SF", WAYBILL)] * 2
    assert (await trade_events(tw, tid))[-1] == ev.TRADE_SELLER_SHIP
    # A retry with the same waybill answers the same and ships nothing more.
    before = await full_snapshot(tw)
    body = await call(
        client, tw, "taobao.logistics.offline.send", "alice",
        tid=tid, out_sid=WAYBILL, company_code="SF",
    )  # fmt: skip
    assert body["logistics_offline_send_response"]["shipping"] == {"is_success": True}
    assert await full_snapshot(tw) == before


async def test_offline_send_split_ships_the_named_orders(client: httpx.AsyncClient, tw: TW) -> None:
    tid = await buy(tw, [(tw.dress.id, tw.red_m.id, 1), (tw.dress.id, tw.blue_l.id, 1)], "a")
    first, second = (o.id for o in (await load(tw, tid)).orders)
    await call(
        client, tw, "taobao.logistics.offline.send", "alice",
        tid=tid, out_sid=WAYBILL, company_code="SF", is_split=1, sub_tid=first,
    )  # fmt: skip
    t = await load(tw, tid)
    assert t.status == "WAIT_SELLER_SEND_GOODS"
    assert [o.invoice_no for o in t.orders] == [WAYBILL, None]
    assert (await trade_events(tw, tid))[-1] == "taobao_trade_TradePartlySellerShip"
    await call(
        client, tw, "taobao.logistics.offline.send", "alice",
        tid=tid, out_sid="YT1234567890123", company_code="YTO", is_split=1, sub_tid=second,
    )  # fmt: skip
    t = await load(tw, tid)
    assert t.status == "WAIT_BUYER_CONFIRM_GOODS"
    assert [o.invoice_no for o in t.orders] == [WAYBILL, "YT1234567890123"]
    assert (await trade_events(tw, tid))[-1] == ev.TRADE_SELLER_SHIP


async def test_offline_send_errors_change_nothing(client: httpx.AsyncClient, tw: TW) -> None:
    tid = await buy(tw, [(tw.dress.id, tw.red_m.id, 1)], "a")
    unpaid = await buy(tw, [(tw.dress.id, tw.blue_l.id, 1)], "b", pay=False)
    before = await full_snapshot(tw)
    method = "taobao.logistics.offline.send"
    cases: list[tuple[dict[str, Any], int, str]] = [
        ({"tid": tid, "company_code": "SF"}, 40, "isv.missing-parameter:out_sid"),
        ({"tid": tid, "out_sid": WAYBILL}, 40, "isv.missing-parameter:company_code"),
        ({"out_sid": WAYBILL, "company_code": "SF"}, 40, "isv.missing-parameter:tid"),
        (
            {"tid": tid, "out_sid": WAYBILL, "company_code": "SF", "is_split": 1},
            40,
            "isv.missing-parameter:sub_tid",
        ),
        ({"tid": "t1", "out_sid": WAYBILL, "company_code": "SF"}, 41, "isv.invalid-parameter:tid"),
        (
            {"tid": tid, "out_sid": WAYBILL, "company_code": "SF", "is_split": 2},
            41,
            "isv.invalid-parameter:is_split",
        ),
        (
            {
                "tid": tid,
                "out_sid": WAYBILL,
                "company_code": "SF",
                "is_split": 1,
                "sub_tid": "99999",
            },
            41,
            "isv.invalid-parameter:sub_tid",
        ),
        ({"tid": tid, "out_sid": "12345", "company_code": "SF"}, 15, "isv.waybill-format"),
        ({"tid": tid, "out_sid": WAYBILL, "company_code": "DHL"}, 15, "isv.unknown-company"),
        ({"tid": unpaid, "out_sid": WAYBILL, "company_code": "SF"}, 15, "isv.illegal-transition"),
    ]
    for business, code, sub_code in cases:
        err = await fail(client, tw, method, "alice", **business)
        assert (err["code"], err["sub_code"]) == (code, sub_code), business
    err = await fail(client, tw, method, "bob", tid=tid, out_sid=WAYBILL, company_code="SF")
    assert (err["code"], err["sub_code"]) == (15, "isv.not-found")
    err = await fail(client, tw, method, "carol", tid=tid, out_sid=WAYBILL, company_code="SF")
    assert (err["code"], err["sub_code"]) == (42, "isv.user-not-seller")
    assert await full_snapshot(tw) == before


# --- taobao.logistics.trace.search ---------------------------------------------------


async def test_trace_search_shows_the_parcel_to_seller_and_buyer(
    client: httpx.AsyncClient, tw: TW
) -> None:
    tid = await buy(tw, [(tw.dress.id, tw.red_m.id, 1)], "a")
    await ship(tw, tid)
    async with tw.db.read() as session:
        shipment = await session.scalar(select(Shipment).where(Shipment.trade_id == tid))
        assert shipment is not None
        shipped_at = shipment.shipped_at
    expected = {
        "out_sid": WAYBILL,
        "company_name": "顺丰速运",
        "tid": tid,
        "status": "CREATE",
        "trace_list": {
            "transit_step_info": [
                {
                    "status_time": top(shipped_at),
                    "status_desc": f"卖家已发货，顺丰速运 运单号 {WAYBILL}",
                    "action": "CREATE",
                }
            ]
        },
    }
    for who in ("alice", "carol"):
        body = await call(client, tw, "taobao.logistics.trace.search", who, tid=tid)
        inner = body["logistics_trace_search_response"]
        assert {k: v for k, v in inner.items() if k != "request_id"} == expected


async def test_trace_search_of_an_unshipped_trade_is_empty(
    client: httpx.AsyncClient, tw: TW
) -> None:
    tid = await buy(tw, [(tw.dress.id, tw.red_m.id, 1)], "a")
    body = await call(client, tw, "taobao.logistics.trace.search", "carol", tid=tid)
    inner = body["logistics_trace_search_response"]
    assert {k: v for k, v in inner.items() if k != "request_id"} == {
        "tid": tid,
    }


async def test_trace_search_errors(client: httpx.AsyncClient, tw: TW) -> None:
    tid = await buy(tw, [(tw.dress.id, tw.red_m.id, 1)], "a")
    await ship(tw, tid)
    err = await fail(client, tw, "taobao.logistics.trace.search", "alice")
    assert (err["code"], err["sub_code"]) == (40, "isv.missing-parameter:tid")
    err = await fail(client, tw, "taobao.logistics.trace.search", "alice", tid="abc")
    assert (err["code"], err["sub_code"]) == (41, "isv.invalid-parameter:tid")
    for stranger in ("bob", "dave"):
        err = await fail(client, tw, "taobao.logistics.trace.search", stranger, tid=tid)
        assert (err["code"], err["sub_code"]) == (15, "isv.not-found")
        assert WAYBILL not in str(err)
    err = await fail(client, tw, "taobao.logistics.trace.search", None, tid=tid)
    assert err["code"] == 26
