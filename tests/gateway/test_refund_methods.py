"""The refunds methods through /router/rest (Style A: system parameters in the query, business
parameters in the form body, md5, ms timestamps), and the service functions they added."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from mercato.accounts import service as accounts
from mercato.gateway import envelope
from mercato.kit.clock import utcnow
from mercato.kit.errors import ValidationFailed
from mercato.kit.pagination import PageRequest
from mercato.ledger.service import deposit
from mercato.logistics.carriers import ensure_carriers
from mercato.models import App, Job, OutboxEvent, Refund, Role, Trade, User
from mercato.refunds import events as ev
from mercato.refunds import service as refunds
from mercato.trade import service as trade
from tests.factories.gateway import make_app, make_token
from tests.gateway.conftest import error_of, style_a, system
from tests.trade.conftest import Shop2, w  # noqa: F401  (the trade world, reused)

TIME = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$")
ALL_FIELDS = (
    "refund_id,tid,oid,buyer_nick,seller_nick,title,num,num_iid,price,total_fee,refund_fee,"
    "payment,status,order_status,good_status,has_good_return,reason,desc,created,modified,"
    "good_return_time,company_name,sid,refund_phase,dispute_type"
)


# --- the world: alice's two refunds and bob's one, all asked by carol -------------------


@dataclass
class RW:
    w: Shop2
    app: App
    secret: str
    alice: str  # tokens
    bob: str
    carol: str
    dave: str
    r1: int  # alice's, trade t1, 2 × red/M, 10.00 back
    r3: int  # alice's, trade t3, 1 × blue/L, 12.50 back
    r2: int  # bob's, trade t2, the phone
    t1: int

    @property
    def key(self) -> str:
        return self.app.app_key


async def _paid(sw: Shop2, key: str, lines: list[tuple[int, int, int]]) -> Trade:
    async with sw.db.write() as session:
        trades = await trade.checkout(
            session, sw.buyer, lines=lines, address_id=sw.address.id, checkout_key=key
        )
        await deposit(session, sw.buyer.id, 500_000, key=f"dep-{key}")
        await trade.pay(session, sw.buyer, [trades[0].id], key=f"pay-{key}")
        return trades[0]


async def _ask(sw: Shop2, t: Trade, fee: int) -> int:
    async with sw.db.write() as session:
        refund = await refunds.request_refund(
            session,
            sw.buyer,
            tid=t.id,
            oid=t.orders[0].id,
            dispute_type="REFUND",
            refund_fee=fee,
            reason="不想要了",
            desc="拍错了",
        )
        return refund.id


@pytest.fixture
async def rw(w: Shop2) -> RW:  # noqa: F811
    async with w.db.write() as session:
        await ensure_carriers(session)
        buyer = await session.get(User, w.buyer.id)
        other = await session.get(User, w.other.id)
        assert buyer is not None and other is not None
        await accounts.grant_role(session, buyer, Role.buyer)
        await accounts.grant_role(session, other, Role.buyer)
    t1 = await _paid(w, "t1", [(w.dress.id, w.red_m.id, 2)])
    t2 = await _paid(w, "t2", [(w.phone.id, 0, 1)])
    t3 = await _paid(w, "t3", [(w.dress.id, w.blue_l.id, 1)])
    r1 = await _ask(w, t1, 1000)
    r2 = await _ask(w, t2, 99_900)
    r3 = await _ask(w, t3, 1250)
    async with w.db.write() as session:
        app, secret = await make_app(
            session, w.alice, packages=("refunds", "trades-read", "trades-write")
        )
        tokens = {
            u.nick: await make_token(session, app, u) for u in (w.alice, w.bob, w.buyer, w.other)
        }
    return RW(
        w, app, secret, tokens["alice"], tokens["bob"], tokens["carol"], tokens["dave"],
        r1, r3, r2, t1.id,
    )  # fmt: skip


async def call(
    client: httpx.AsyncClient, rw: RW, method: str, token: str, **business: str
) -> httpx.Response:
    return await style_a(client, rw, system(rw, method, session=token), business)  # type: ignore[arg-type]


def ok(response: httpx.Response, root: str) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    body = response.json()
    assert list(body) == [root], body
    inner: dict[str, Any] = body[root]
    assert inner.pop("request_id")
    return inner


async def snapshot(rw: RW) -> dict[str, Any]:
    """What a refused call must leave alone."""
    async with rw.w.db.read() as session:
        return {
            "refunds": [
                (r.id, r.status, r.modified, r.seller_refuse_reason, r.event_seq)
                for r in await session.scalars(select(Refund).order_by(Refund.id))
            ],
            "events": await session.scalar(select(func.count()).select_from(OutboxEvent)),
            "jobs": await session.scalar(select(func.count()).select_from(Job)),
        }


async def topics(rw: RW, refund_id: int) -> list[str]:
    async with rw.w.db.read() as session:
        rows = await session.scalars(
            select(OutboxEvent.topic)
            .where(OutboxEvent.subject == ev.refund_subject(refund_id))
            .order_by(OutboxEvent.id)
        )
        return list(rows)


async def _refund(rw: RW, refund_id: int) -> Refund:
    async with rw.w.db.read() as session:
        refund = await session.get(Refund, refund_id)
        assert refund is not None
        return refund


# --- taobao.refunds.receive.get -------------------------------------------------------


async def test_receive_get_returns_the_sellers_refunds_in_tops_shape(
    client: httpx.AsyncClient, rw: RW
) -> None:
    # when
    inner = ok(
        await call(client, rw, "taobao.refunds.receive.get", rw.alice, fields=ALL_FIELDS),
        "refunds_receive_get_response",
    )
    # then: alice's two refunds, last modified first, wrapped as refunds.refund[]
    assert inner["total_results"] == 2
    listed = inner["refunds"]["refund"]
    assert [r["refund_id"] for r in listed] == [str(rw.r3), str(rw.r1)]
    r1 = listed[1]
    assert TIME.match(r1.pop("created")) and TIME.match(r1.pop("modified"))
    refund = await _refund(rw, rw.r1)
    assert r1 == {
        "refund_id": str(rw.r1),
        "tid": rw.t1,
        "tid_str": str(rw.t1),
        "oid": refund.order_id,
        "oid_str": str(refund.order_id),
        "buyer_nick": "carol",
        "seller_nick": "alice",
        "title": rw.w.dress.title,
        "num": 2,
        "num_iid": rw.w.dress.id,
        "price": "10.00",
        "total_fee": "20.00",
        "refund_fee": "10.00",
        "payment": "20.00",
        "status": "WAIT_SELLER_AGREE",
        "order_status": "WAIT_SELLER_SEND_GOODS",
        "good_status": "BUYER_NOT_RECEIVED",
        "has_good_return": False,
        "reason": "不想要了",
        "desc": "拍错了",
        "refund_phase": "onsale",
        "dispute_type": "REFUND",
    }


async def test_receive_get_filters_and_pages(client: httpx.AsyncClient, rw: RW) -> None:
    async def ids(**business: str) -> dict[str, Any]:
        response = await call(
            client, rw, "taobao.refunds.receive.get", rw.alice, fields="refund_id", **business
        )
        return ok(response, "refunds_receive_get_response")

    assert (await ids(status="SUCCESS")) == {"total_results": 0}
    assert (await ids(status="WAIT_SELLER_AGREE"))["total_results"] == 2
    assert (await ids(buyer_nick="dave")) == {"total_results": 0}
    assert (await ids(buyer_nick="Carol"))["total_results"] == 2
    assert (await ids(type="fixed,ec"))["total_results"] == 2
    assert (await ids(type="guarantee_trade"))["total_results"] == 2
    assert (await ids(type="ec")) == {"total_results": 0}
    later = envelope.top_datetime(utcnow() + timedelta(hours=1))
    assert (await ids(start_modified=later)) == {"total_results": 0}
    assert (await ids(end_modified=later))["total_results"] == 2
    first = await ids(page_size="1", use_has_next="true")
    assert first == {"has_next": True, "refunds": {"refund": [{"refund_id": str(rw.r3)}]}}
    second = await ids(page_size="1", page_no="2", use_has_next="true")
    assert second == {"has_next": False, "refunds": {"refund": [{"refund_id": str(rw.r1)}]}}


async def test_receive_get_needs_fields(client: httpx.AsyncClient, rw: RW) -> None:
    err = error_of(await call(client, rw, "taobao.refunds.receive.get", rw.alice))
    assert (err["code"], err["sub_code"]) == (40, "isv.missing-parameter:fields")


@pytest.mark.parametrize(
    ("business", "field"),
    [
        ({"page_size": "101"}, "page_size"),
        ({"status": "WAIT"}, "status"),
        ({"type": "barter"}, "type"),
        ({"start_modified": "yesterday"}, "start_modified"),
        ({"start_modified": "2026-01-02 00:00:00", "end_modified": "2026-01-01"}, "end_modified"),
    ],
)
async def test_receive_get_rejects_invalid_values(
    client: httpx.AsyncClient, rw: RW, business: dict[str, str], field: str
) -> None:
    response = await call(
        client, rw, "taobao.refunds.receive.get", rw.alice, fields="refund_id", **business
    )
    err = error_of(response)
    assert (err["code"], err["sub_code"]) == (41, f"isv.invalid-parameter:{field}")


async def test_receive_get_shows_another_seller_only_their_own(
    client: httpx.AsyncClient, rw: RW
) -> None:
    inner = ok(
        await call(
            client, rw, "taobao.refunds.receive.get", rw.bob, fields="refund_id,seller_nick"
        ),
        "refunds_receive_get_response",
    )
    assert inner == {
        "total_results": 1,
        "refunds": {"refund": [{"refund_id": str(rw.r2), "seller_nick": "bob"}]},
    }


async def test_receive_get_refuses_a_buyer(client: httpx.AsyncClient, rw: RW) -> None:
    response = await call(client, rw, "taobao.refunds.receive.get", rw.carol, fields="refund_id")
    err = error_of(response)
    assert (err["code"], err["sub_code"]) == (42, "isv.user-not-seller")


# --- taobao.refunds.apply.get ---------------------------------------------------------


async def test_apply_get_returns_the_buyers_refunds(client: httpx.AsyncClient, rw: RW) -> None:
    response = await call(
        client,
        rw,
        "taobao.refunds.apply.get",
        rw.carol,
        fields="refund_id,seller_nick,refund_fee,status",
    )
    inner = ok(response, "refunds_apply_get_response")
    assert inner == {
        "total_results": 3,
        "refunds": {
            "refund": [
                {
                    "refund_id": str(r),
                    "seller_nick": s,
                    "refund_fee": f,
                    "status": "WAIT_SELLER_AGREE",
                }
                for r, s, f in (
                    (rw.r3, "alice", "12.50"),
                    (rw.r2, "bob", "999.00"),
                    (rw.r1, "alice", "10.00"),
                )
            ]
        },
    }
    response = await call(
        client, rw, "taobao.refunds.apply.get", rw.carol, fields="refund_id", seller_nick="bob"
    )
    assert ok(response, "refunds_apply_get_response") == {
        "total_results": 1,
        "refunds": {"refund": [{"refund_id": str(rw.r2)}]},
    }


async def test_apply_get_needs_fields(client: httpx.AsyncClient, rw: RW) -> None:
    err = error_of(await call(client, rw, "taobao.refunds.apply.get", rw.carol, fields=" , "))
    assert (err["code"], err["sub_code"]) == (40, "isv.missing-parameter:fields")


async def test_apply_get_rejects_an_unknown_status(client: httpx.AsyncClient, rw: RW) -> None:
    response = await call(
        client, rw, "taobao.refunds.apply.get", rw.carol, fields="refund_id", status="DONE"
    )
    err = error_of(response)
    assert (err["code"], err["sub_code"]) == (41, "isv.invalid-parameter:status")


async def test_apply_get_shows_another_buyer_nothing(client: httpx.AsyncClient, rw: RW) -> None:
    response = await call(client, rw, "taobao.refunds.apply.get", rw.dave, fields="refund_id")
    assert ok(response, "refunds_apply_get_response") == {"total_results": 0}


async def test_apply_get_refuses_a_seller_only_session(client: httpx.AsyncClient, rw: RW) -> None:
    response = await call(client, rw, "taobao.refunds.apply.get", rw.alice, fields="refund_id")
    err = error_of(response)
    assert (err["code"], err["sub_code"]) == (42, "isv.user-not-buyer")


# --- taobao.refund.get ----------------------------------------------------------------


async def test_refund_get_for_its_seller_and_its_buyer(client: httpx.AsyncClient, rw: RW) -> None:
    for token in (rw.alice, rw.carol):
        response = await call(
            client,
            rw,
            "taobao.refund.get",
            token,
            fields="refund_id,tid,status,refund_fee,has_good_return,bogus",
            refund_id=str(rw.r1),
        )
        assert ok(response, "refund_get_response") == {
            "refund": {
                "refund_id": str(rw.r1),
                "tid": rw.t1,
                "tid_str": str(rw.t1),
                "status": "WAIT_SELLER_AGREE",
                "refund_fee": "10.00",
                "has_good_return": False,
            }
        }


async def test_refund_get_needs_refund_id(client: httpx.AsyncClient, rw: RW) -> None:
    err = error_of(await call(client, rw, "taobao.refund.get", rw.alice, fields="refund_id"))
    assert (err["code"], err["sub_code"]) == (40, "isv.missing-parameter:refund_id")


async def test_refund_get_rejects_a_non_numeric_id(client: httpx.AsyncClient, rw: RW) -> None:
    response = await call(
        client, rw, "taobao.refund.get", rw.alice, fields="refund_id", refund_id="R1"
    )
    err = error_of(response)
    assert (err["code"], err["sub_code"]) == (41, "isv.invalid-parameter:refund_id")


@pytest.mark.parametrize("who", ["bob", "dave"])
async def test_refund_get_hides_a_refund_from_anyone_else(
    client: httpx.AsyncClient, rw: RW, who: str
) -> None:
    token = rw.bob if who == "bob" else rw.dave
    response = await call(
        client, rw, "taobao.refund.get", token, fields="refund_id", refund_id=str(rw.r1)
    )
    err = error_of(response)
    assert (err["code"], err["sub_code"]) == (15, "isv.not-found")
    assert str(rw.r1) in err["sub_msg"] and "alice" not in err["sub_msg"]


# --- taobao.refund.refuse -------------------------------------------------------------


async def test_refuse_moves_the_refund_and_records_the_event(
    client: httpx.AsyncClient, rw: RW
) -> None:
    response = await call(
        client,
        rw,
        "taobao.refund.refuse",
        rw.alice,
        refund_id=str(rw.r1),
        refuse_message="商品已发出",
        tid=str(rw.t1),
        refund_phase="onsale",
        refund_version="1767225600000",
    )
    inner = ok(response, "refund_refuse_response")
    assert TIME.match(inner["refund"].pop("modified"))
    assert inner == {
        "is_success": True,
        "refund": {"refund_id": str(rw.r1), "status": "SELLER_REFUSE_BUYER"},
    }
    refund = await _refund(rw, rw.r1)
    assert (refund.status, refund.seller_refuse_reason) == ("SELLER_REFUSE_BUYER", "商品已发出")
    assert await topics(rw, rw.r1) == [ev.REFUND_CREATED, ev.REFUND_SELLER_REFUSE]
    # refusing again is a business error, and changes nothing
    before = await snapshot(rw)
    response = await call(
        client, rw, "taobao.refund.refuse", rw.alice, refund_id=str(rw.r1), refuse_message="再拒"
    )
    err = error_of(response)
    assert (err["code"], err["sub_code"]) == (15, "isv.illegal-transition")
    assert await snapshot(rw) == before


async def test_refuse_needs_a_message(client: httpx.AsyncClient, rw: RW) -> None:
    before = await snapshot(rw)
    response = await call(client, rw, "taobao.refund.refuse", rw.alice, refund_id=str(rw.r1))
    err = error_of(response)
    assert (err["code"], err["sub_code"]) == (40, "isv.missing-parameter:refuse_message")
    assert await snapshot(rw) == before


@pytest.mark.parametrize(
    ("business", "field"),
    [
        ({"refuse_message": "太长" * 101}, "refuse_message"),
        ({"refuse_message": "不同意", "tid": "987654321"}, "tid"),
        ({"refuse_message": "不同意", "refund_phase": "presale"}, "refund_phase"),
        ({"refuse_message": "不同意", "refund_phase": "aftersale"}, "refund_phase"),
    ],
)
async def test_refuse_rejects_invalid_values(
    client: httpx.AsyncClient, rw: RW, business: dict[str, str], field: str
) -> None:
    before = await snapshot(rw)
    response = await call(
        client, rw, "taobao.refund.refuse", rw.alice, refund_id=str(rw.r1), **business
    )
    err = error_of(response)
    assert (err["code"], err["sub_code"]) == (41, f"isv.invalid-parameter:{field}")
    assert await snapshot(rw) == before


async def test_refuse_by_another_seller_is_not_found(client: httpx.AsyncClient, rw: RW) -> None:
    before = await snapshot(rw)
    for extra in ({}, {"tid": str(rw.t1)}):
        response = await call(
            client,
            rw,
            "taobao.refund.refuse",
            rw.bob,
            refund_id=str(rw.r1),
            refuse_message="不同意",
            **extra,
        )
        err = error_of(response)
        assert (err["code"], err["sub_code"]) == (15, "isv.not-found")
    assert await snapshot(rw) == before


async def test_refuse_refuses_a_buyer(client: httpx.AsyncClient, rw: RW) -> None:
    before = await snapshot(rw)
    response = await call(
        client, rw, "taobao.refund.refuse", rw.carol, refund_id=str(rw.r1), refuse_message="x"
    )
    err = error_of(response)
    assert (err["code"], err["sub_code"]) == (42, "isv.user-not-seller")
    assert await snapshot(rw) == before


# --- taobao.rp.refunds.agree ----------------------------------------------------------


async def test_agree_pays_out_each_refund(client: httpx.AsyncClient, rw: RW) -> None:
    response = await call(
        client,
        rw,
        "taobao.rp.refunds.agree",
        rw.alice,
        refund_infos=f"{rw.r1}|1000|1767225600000, {rw.r3}",
    )
    assert ok(response, "rp_refunds_agree_response") == {
        "msg": "2 of 2 refunds agreed",
        "succ": True,
        "results": {
            "refund_mapping_result": [
                {"refund_id": str(rw.r1), "succ": True, "message": "agreed"},
                {"refund_id": str(rw.r3), "succ": True, "message": "agreed"},
            ]
        },
    }
    for rid in (rw.r1, rw.r3):
        assert (await _refund(rw, rid)).status == "SUCCESS"
        # the same events as the seller's page (refunds.service.seller_agree)
        assert await topics(rw, rid) == [
            ev.REFUND_CREATED,
            ev.REFUND_SELLER_AGREE,
            ev.REFUND_SUCCESS,
        ]


async def test_agree_fails_each_refund_on_its_own(client: httpx.AsyncClient, rw: RW) -> None:
    # given: r2 is bob's, and r3's amount is wrong
    r2_before = await _refund(rw, rw.r2)
    r3_before = await _refund(rw, rw.r3)
    response = await call(
        client,
        rw,
        "taobao.rp.refunds.agree",
        rw.alice,
        refund_infos=f"{rw.r1},{rw.r2},{rw.r3}|999|1",
    )
    inner = ok(response, "rp_refunds_agree_response")
    results = inner["results"]["refund_mapping_result"]
    assert (inner["succ"], inner["msg"]) == (False, "1 of 3 refunds agreed")
    assert [(r["refund_id"], r["succ"]) for r in results] == [
        (str(rw.r1), True),
        (str(rw.r2), False),
        (str(rw.r3), False),
    ]
    assert "does not exist" in results[1]["message"]
    assert "999" in results[2]["message"]
    assert (await _refund(rw, rw.r1)).status == "SUCCESS"
    for before in (r2_before, r3_before):
        after = await _refund(rw, before.id)
        assert (after.status, after.modified, after.event_seq) == (
            before.status,
            before.modified,
            before.event_seq,
        )


async def test_agree_needs_refund_infos(client: httpx.AsyncClient, rw: RW) -> None:
    err = error_of(await call(client, rw, "taobao.rp.refunds.agree", rw.alice))
    assert (err["code"], err["sub_code"]) == (40, "isv.missing-parameter:refund_infos")


@pytest.mark.parametrize("infos", ["abc", "12|x|1", "-1", ",".join(str(i) for i in range(1, 22))])
async def test_agree_rejects_invalid_refund_infos(
    client: httpx.AsyncClient, rw: RW, infos: str
) -> None:
    before = await snapshot(rw)
    err = error_of(await call(client, rw, "taobao.rp.refunds.agree", rw.alice, refund_infos=infos))
    assert (err["code"], err["sub_code"]) == (41, "isv.invalid-parameter:refund_infos")
    assert await snapshot(rw) == before


async def test_agree_by_another_seller_changes_nothing(client: httpx.AsyncClient, rw: RW) -> None:
    before = await snapshot(rw)
    response = await call(client, rw, "taobao.rp.refunds.agree", rw.bob, refund_infos=str(rw.r1))
    inner = ok(response, "rp_refunds_agree_response")
    assert inner["succ"] is False
    (result,) = inner["results"]["refund_mapping_result"]
    assert result["succ"] is False and "does not exist" in result["message"]
    assert await snapshot(rw) == before


async def test_agree_refuses_a_buyer(client: httpx.AsyncClient, rw: RW) -> None:
    before = await snapshot(rw)
    response = await call(client, rw, "taobao.rp.refunds.agree", rw.carol, refund_infos=str(rw.r1))
    err = error_of(response)
    assert (err["code"], err["sub_code"]) == (42, "isv.user-not-seller")
    assert await snapshot(rw) == before


# --- the service functions the methods added ------------------------------------------


async def test_search_received_and_applied_keep_to_their_user(rw: RW) -> None:
    sw = rw.w
    page = PageRequest(1, 10)
    async with sw.db.read() as session:
        got = await refunds.search_received(session, sw.alice, refunds.RefundSearch(), page)
        assert [r.id for r in got.items] == [rw.r3, rw.r1]
        got = await refunds.search_received(
            session, sw.alice, refunds.RefundSearch(buyer_nick="CAROL", type=["fixed"]), page
        )
        assert got.total == 2
        got = await refunds.search_received(
            session, sw.bob, refunds.RefundSearch(status="WAIT_SELLER_AGREE"), page
        )
        assert [r.id for r in got.items] == [rw.r2]
        got = await refunds.search_applied(
            session, sw.buyer, refunds.RefundSearch(seller_nick="alice"), page
        )
        assert [r.id for r in got.items] == [rw.r3, rw.r1]
        got = await refunds.search_applied(session, sw.other, refunds.RefundSearch(), page)
        assert got.total == 0
        with pytest.raises(ValidationFailed) as exc:
            await refunds.search_received(
                session, sw.alice, refunds.RefundSearch(type=["swap"]), page
            )
        assert exc.value.problems[0].field == "type"


async def test_refund_orders_and_carrier_names(rw: RW) -> None:
    async with rw.w.db.read() as session:
        rows = [await refunds.get_refund(session, rw.w.alice, rid) for rid in (rw.r1, rw.r3)]
        orders = await refunds.refund_orders(session, rows)
        assert {o.id for o in orders.values()} == {r.order_id for r in rows}
        assert await refunds.refund_orders(session, []) == {}
        names = await refunds.carrier_names(session, ["SF", None, "NOPE"])
        assert names["NOPE"] == "NOPE" and names["SF"] not in ("", "SF")
