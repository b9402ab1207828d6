"""The trade methods of the TOP gateway (taobao.trades.* / taobao.trade.*), called through
``/router/rest`` like the official SDK (Style A: system parameters in the query, business
parameters in the body, md5, millisecond timestamps), and the trade service functions
added for them.

The world: alice sells a dress (SKUs red/M 10.00 and blue/L 12.50), bob sells a phone
(999.00); carol and dave are buyers. One app holds every package, with tokens for all four.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from mercato.catalog import service as catalog
from mercato.developer.packages import ALL_PACKAGES
from mercato.gateway import envelope
from mercato.kit.clock import clock, utcnow
from mercato.kit.db import Database
from mercato.kit.errors import Conflict, NotFound, ValidationFailed
from mercato.kit.pagination import PageRequest
from mercato.ledger.service import deposit
from mercato.logistics import service as logistics
from mercato.models import Address, App, Item, Job, OutboxEvent, Sku, Trade, User
from mercato.trade import events as ev
from mercato.trade import service as trade
from mercato.trade.schemas import AddressInput
from tests.factories.accounts import make_user
from tests.factories.catalog import make_catalog, make_seller
from tests.factories.gateway import make_app, make_token
from tests.gateway.conftest import error_of, style_a, system

# --- the world -----------------------------------------------------------------------


@pytest.fixture(autouse=True)
def reset_clock() -> Iterator[None]:
    yield
    clock.reset()


def address_input(**overrides: object) -> AddressInput:
    fields: dict[str, object] = {
        "name": "张三",
        "mobile": "13800138000",
        "state": "浙江省",
        "city": "杭州市",
        "district": "西湖区",
        "address": "文三路 100 号",
        "zip": "310000",
    }
    fields.update(overrides)
    return AddressInput.model_validate(fields)


@dataclass
class TW:
    db: Database
    app: App
    secret: str
    alice: User
    bob: User
    carol: User
    dave: User
    carol_address: Address
    dave_address: Address
    dress: Item
    red_m: Sku
    blue_l: Sku
    phone: Item
    tokens: dict[str, str]

    @property
    def key(self) -> str:  # what tests.gateway.conftest.system reads
        return self.app.app_key


@pytest.fixture
async def tw(db: Database) -> TW:
    async with db.write() as session:
        tree = await make_catalog(session)
        alice, _ = await make_seller(session, "alice")
        bob, _ = await make_seller(session, "bob")
        carol = await make_user(session, "carol")
        dave = await make_user(session, "dave")
        carol_address = await trade.add_address(session, carol, address_input())
        dave_address = await trade.add_address(session, dave, address_input(name="李四"))
        dress = await catalog.create_item(
            session,
            alice,
            tree.item(
                approve_status="onsale",
                outer_id="D-1",
                skus=[tree.sku("红色", "M", "10.00", 5), tree.sku("蓝色", "L", "12.50", 3)],
            ),
        )
        phone = await catalog.create_item(
            session,
            bob,
            tree.item(
                title="手机",
                category_id=tree.phones.id,
                props={},
                price="999.00",
                quantity=10,
                approve_status="onsale",
            ),
        )
        skus = list(await session.scalars(select(Sku).where(Sku.item_id == dress.id)))
        red_m = next(s for s in skus if s.price == 1000)
        blue_l = next(s for s in skus if s.price == 1250)
        app, secret = await make_app(session, alice, packages=ALL_PACKAGES)
        tokens = {
            u.nick: await make_token(session, app, u, expires_in=timedelta(days=30))
            for u in (alice, bob, carol, dave)
        }
        for buyer in (carol, dave):
            await deposit(session, buyer.id, 1_000_000, key=f"dep-{buyer.nick}")
    return TW(
        db, app, secret, alice, bob, carol, dave, carol_address, dave_address, dress, red_m,
        blue_l, phone, tokens,
    )  # fmt: skip


async def buy(
    tw: TW,
    lines: list[tuple[int, int, int]],
    key: str,
    *,
    buyer: User | None = None,
    pay: bool = True,
) -> int:
    """A trade of the buyer's (carol by default), paid unless asked otherwise."""
    who = buyer or tw.carol
    address = tw.carol_address if who.id == tw.carol.id else tw.dave_address
    async with tw.db.write() as session:
        trades = await trade.checkout(
            session, who, lines=lines, address_id=address.id, checkout_key=key
        )
        assert len(trades) == 1
        if pay:
            await trade.pay(session, who, [trades[0].id], key=f"pay-{key}")
    return trades[0].id


async def ship(tw: TW, tid: int, waybill: str = "SF123456789012") -> None:
    async with tw.db.write() as session:
        await logistics.offline_send(
            session, tw.alice, tid, company_code="SF", out_sid=waybill, simulate=False
        )


async def load(tw: TW, tid: int) -> Trade:
    async with tw.db.read() as session:
        t = await session.get(Trade, tid)
        assert t is not None
        return t


async def events(tw: TW, tid: int) -> list[str]:
    async with tw.db.read() as session:
        rows = await session.scalars(
            select(OutboxEvent.topic)
            .where(OutboxEvent.subject == ev.trade_subject(tid))
            .order_by(OutboxEvent.seq)
        )
        return list(rows)


async def snapshot(tw: TW) -> dict[str, Any]:
    """What a refused call must leave alone: every trade and order, stock, events, jobs."""
    out: dict[str, Any] = {}
    async with tw.db.read() as session:
        for t in await session.scalars(select(Trade).order_by(Trade.id)):
            out[f"trade:{t.id}"] = (
                t.status, t.modified, t.seller_memo, t.seller_flag, t.receiver_mobile,
                t.timeout_action_time, t.event_seq,
                [(o.status, o.logistics_company, o.invoice_no) for o in t.orders],
            )  # fmt: skip
        for sku in await session.scalars(select(Sku).order_by(Sku.id)):
            out[f"sku:{sku.id}"] = sku.quantity
        out["events"] = len(list(await session.scalars(select(OutboxEvent.id))))
        out["jobs"] = [(j.key, j.run_at) for j in await session.scalars(select(Job))]
    return out


async def call(
    client: httpx.AsyncClient, tw: TW, method: str, who: str | None, **business: Any
) -> dict[str, Any]:
    """A signed Style A call as ``who`` (a nick; None: no session); the parsed JSON."""
    sys_params = system(tw, method, session=tw.tokens[who] if who else None)  # type: ignore[arg-type]
    response = await style_a(
        client,
        tw,  # type: ignore[arg-type]
        sys_params,
        {k: str(v) for k, v in business.items()},
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert "error_response" not in body, body
    return body


async def fail(
    client: httpx.AsyncClient, tw: TW, method: str, who: str | None, **business: Any
) -> dict[str, Any]:
    sys_params = system(tw, method, session=tw.tokens[who] if who else None)  # type: ignore[arg-type]
    response = await style_a(
        client,
        tw,  # type: ignore[arg-type]
        sys_params,
        {k: str(v) for k, v in business.items()},
    )
    return error_of(response)


def top(value: Any) -> str:
    return envelope.top_datetime(value)


ALL_TRADE_FIELDS = (
    "tid,tid_str,type,status,created,modified,pay_time,consign_time,end_time,"
    "timeout_action_time,seller_nick,buyer_nick,title,payment,total_fee,post_fee,"
    "discount_fee,adjust_fee,commission_fee,receiver_name,receiver_state,receiver_city,"
    "receiver_district,receiver_address,receiver_zip,receiver_mobile,buyer_message,"
    "has_buyer_message,seller_memo,seller_flag,buyer_rate,seller_rate,num_iid,num,price,"
    "pic_path,orders"
)


def expected_order(tw: TW, t: Trade, index: int) -> dict[str, Any]:
    o = t.orders[index]
    sku = tw.red_m if o.sku_id == tw.red_m.id else tw.blue_l
    out: dict[str, Any] = {
        "oid": o.id,
        "oid_str": str(o.id),
        "num_iid": tw.dress.id,
        "sku_id": str(sku.id),
        "outer_iid": "D-1",
        "title": tw.dress.title,
        "price": "10.00" if sku.id == tw.red_m.id else "12.50",
        "num": o.num,
        "total_fee": envelope.money(o.total_fee),
        "payment": envelope.money(o.payment),
        "discount_fee": "0.00",
        "adjust_fee": "0.00",
        "sku_properties_name": "颜色:红色;尺码:M" if sku.id == tw.red_m.id else "颜色:蓝色;尺码:L",
        "status": t.status,
        "refund_status": "NO_REFUND",
        "cid": tw.dress.category_id,
    }
    if o.consign_time is not None:
        out.update(
            logistics_company=o.logistics_company,
            invoice_no=o.invoice_no,
            consign_time=top(o.consign_time),
        )
    return out


# --- taobao.trades.sold.get ----------------------------------------------------------


async def test_sold_get_returns_the_sellers_trades_in_tops_shape(
    client: httpx.AsyncClient, tw: TW
) -> None:
    multi = await buy(tw, [(tw.dress.id, tw.red_m.id, 1), (tw.dress.id, tw.blue_l.id, 1)], "m")
    clock.advance(timedelta(minutes=1))
    single = await buy(tw, [(tw.dress.id, tw.red_m.id, 2)], "s", pay=False)
    await buy(tw, [(tw.phone.id, 0, 1)], "bob", buyer=tw.dave)  # bob's: never shown

    body = await call(client, tw, "taobao.trades.sold.get", "alice", fields=ALL_TRADE_FIELDS)

    inner = body["trades_sold_get_response"]
    assert set(inner) == {"total_results", "trades", "request_id"}
    assert inner["total_results"] == 2
    got = inner["trades"]["trade"]
    assert [t["tid"] for t in got] == [single, multi]  # newest created first
    t = await load(tw, single)
    assert got[0] == {
        "tid": single,
        "tid_str": str(single),
        "type": "fixed",
        "status": "WAIT_BUYER_PAY",
        "created": top(t.created),
        "modified": top(t.modified),
        "timeout_action_time": top(t.timeout_action_time),
        "seller_nick": "alice",
        "buyer_nick": "carol",
        "title": "alice's shop",
        "payment": "20.00",
        "total_fee": "20.00",
        "post_fee": "0.00",
        "discount_fee": "0.00",
        "adjust_fee": "0.00",
        "receiver_name": "张三",
        "receiver_state": "浙江省",
        "receiver_city": "杭州市",
        "receiver_district": "西湖区",
        "receiver_address": "文三路 100 号",
        "receiver_zip": "310000",
        "receiver_mobile": "13800138000",
        "has_buyer_message": False,
        "seller_flag": 0,
        "buyer_rate": False,
        "seller_rate": False,
        "num_iid": tw.dress.id,
        "num": 2,
        "price": "10.00",
        "orders": {"order": [expected_order(tw, t, 0)]},
    }
    m = await load(tw, multi)
    assert got[1]["status"] == "WAIT_SELLER_SEND_GOODS"
    assert got[1]["pay_time"] == top(m.pay_time)
    assert got[1]["payment"] == "22.50"
    assert "num_iid" not in got[1]  # only single-order trades carry the item
    assert got[1]["orders"]["order"] == [expected_order(tw, m, 0), expected_order(tw, m, 1)]


async def test_sold_get_honours_fields_filters_and_paging(
    client: httpx.AsyncClient, tw: TW
) -> None:
    first = await buy(tw, [(tw.dress.id, tw.red_m.id, 1)], "a")
    clock.advance(timedelta(hours=2))
    second = await buy(tw, [(tw.dress.id, tw.blue_l.id, 1)], "b", pay=False)
    clock.advance(timedelta(hours=2))
    third = await buy(tw, [(tw.dress.id, tw.red_m.id, 1)], "c", buyer=tw.dave)
    method = "taobao.trades.sold.get"

    body = await call(client, tw, method, "alice", fields="tid,orders.title")
    got = body["trades_sold_get_response"]["trades"]["trade"]
    assert got[0] == {
        "tid": third,
        "tid_str": str(third),
        "orders": {"order": [{"title": tw.dress.title}]},
    }

    body = await call(client, tw, method, "alice", fields="tid", status="WAIT_SELLER_SEND_GOODS")
    assert [t["tid"] for t in body["trades_sold_get_response"]["trades"]["trade"]] == [
        third,
        first,
    ]
    body = await call(client, tw, method, "alice", fields="tid", status="ALL_WAIT_PAY")
    assert [t["tid"] for t in body["trades_sold_get_response"]["trades"]["trade"]] == [second]
    body = await call(client, tw, method, "alice", fields="tid", status="PAY_PENDING")
    assert body["trades_sold_get_response"] == {
        "total_results": 0,
        "request_id": body["trades_sold_get_response"]["request_id"],
    }
    body = await call(client, tw, method, "alice", fields="tid", buyer_nick="DAVE")
    assert [t["tid"] for t in body["trades_sold_get_response"]["trades"]["trade"]] == [third]
    body = await call(client, tw, method, "alice", fields="tid", type="guarantee_trade,ec")
    assert body["trades_sold_get_response"]["total_results"] == 3
    body = await call(client, tw, method, "alice", fields="tid", type="cod")
    assert body["trades_sold_get_response"]["total_results"] == 0
    body = await call(client, tw, method, "alice", fields="tid", rate_status="RATE_UNBUYER")
    assert body["trades_sold_get_response"]["total_results"] == 3

    s = await load(tw, second)
    body = await call(
        client,
        tw,
        method,
        "alice",
        fields="tid",
        start_created=top(s.created - timedelta(minutes=1)),
        end_created=top(s.created + timedelta(minutes=1)),
    )
    assert [t["tid"] for t in body["trades_sold_get_response"]["trades"]["trade"]] == [second]

    body = await call(client, tw, method, "alice", fields="tid", page_no=2, page_size=2)
    inner = body["trades_sold_get_response"]
    assert inner["total_results"] == 3
    assert [t["tid"] for t in inner["trades"]["trade"]] == [first]
    body = await call(client, tw, method, "alice", fields="tid", page_size=2, use_has_next="true")
    inner = body["trades_sold_get_response"]
    assert "total_results" not in inner
    assert inner["has_next"] is True
    assert [t["tid"] for t in inner["trades"]["trade"]] == [third, second]
    body = await call(
        client, tw, method, "alice", fields="tid", page_no=2, page_size=2, use_has_next="true"
    )
    assert body["trades_sold_get_response"]["has_next"] is False


async def test_sold_get_needs_fields(client: httpx.AsyncClient, tw: TW) -> None:
    err = await fail(client, tw, "taobao.trades.sold.get", "alice")
    assert (err["code"], err["sub_code"]) == (40, "isv.missing-parameter:fields")


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("page_size", "101"),
        ("page_no", "0"),
        ("status", "SHIPPED"),
        ("type", "fixed,bogus"),
        ("rate_status", "RATE_MAYBE"),
        ("start_created", "yesterday"),
        ("use_has_next", "perhaps"),
    ],
)
async def test_sold_get_rejects_invalid_values(
    client: httpx.AsyncClient, tw: TW, name: str, value: str
) -> None:
    err = await fail(client, tw, "taobao.trades.sold.get", "alice", fields="tid", **{name: value})
    assert (err["code"], err["sub_code"]) == (41, f"isv.invalid-parameter:{name}")


async def test_sold_get_shows_another_seller_nothing(client: httpx.AsyncClient, tw: TW) -> None:
    await buy(tw, [(tw.dress.id, tw.red_m.id, 1)], "a")
    body = await call(client, tw, "taobao.trades.sold.get", "bob", fields="tid,orders")
    assert body["trades_sold_get_response"]["total_results"] == 0
    assert "trades" not in body["trades_sold_get_response"]
    body = await call(client, tw, "taobao.trades.sold.get", "bob", fields="tid", buyer_nick="carol")
    assert body["trades_sold_get_response"]["total_results"] == 0


async def test_sold_get_refuses_a_buyer(client: httpx.AsyncClient, tw: TW) -> None:
    err = await fail(client, tw, "taobao.trades.sold.get", "carol", fields="tid")
    assert (err["code"], err["sub_code"]) == (42, "isv.user-not-seller")


# --- taobao.trades.sold.increment.get ------------------------------------------------


async def test_increment_get_returns_trades_modified_in_the_window(
    client: httpx.AsyncClient, tw: TW
) -> None:
    old = await buy(tw, [(tw.dress.id, tw.red_m.id, 1)], "old")
    clock.advance(timedelta(days=2))
    start = utcnow()
    first = await buy(tw, [(tw.dress.id, tw.blue_l.id, 1)], "first")
    clock.advance(timedelta(minutes=5))
    second = await buy(tw, [(tw.dress.id, tw.red_m.id, 1)], "second", pay=False)
    clock.advance(timedelta(minutes=5))
    async with tw.db.write() as session:  # the first trade changes last
        await trade.update_memo(session, tw.alice, first, memo="gift wrap", flag=None)
    await buy(tw, [(tw.phone.id, 0, 1)], "bob", buyer=tw.dave)
    end = utcnow() + timedelta(minutes=1)

    body = await call(
        client,
        tw,
        "taobao.trades.sold.increment.get",
        "alice",
        fields="tid,modified,seller_memo",
        start_modified=top(start),
        end_modified=top(end),
    )

    inner = body["trades_sold_increment_get_response"]
    assert inner["total_results"] == 2
    f, s = await load(tw, first), await load(tw, second)
    assert inner["trades"]["trade"] == [
        {
            "tid": first,
            "tid_str": str(first),
            "modified": top(f.modified),
            "seller_memo": "gift wrap",
        },
        {"tid": second, "tid_str": str(second), "modified": top(s.modified)},
    ]
    assert old not in [t["tid"] for t in inner["trades"]["trade"]]
    body = await call(
        client,
        tw,
        "taobao.trades.sold.increment.get",
        "alice",
        fields="tid",
        start_modified=top(start),
        end_modified=top(end),
        status="WAIT_BUYER_PAY",
        use_has_next="true",
    )
    inner = body["trades_sold_increment_get_response"]
    assert inner["has_next"] is False
    assert [t["tid"] for t in inner["trades"]["trade"]] == [second]


async def test_increment_get_needs_the_window(client: httpx.AsyncClient, tw: TW) -> None:
    err = await fail(
        client, tw, "taobao.trades.sold.increment.get", "alice", fields="tid",
        start_modified=top(utcnow()),
    )  # fmt: skip
    assert (err["code"], err["sub_code"]) == (40, "isv.missing-parameter:end_modified")


async def test_increment_get_allows_at_most_one_day(client: httpx.AsyncClient, tw: TW) -> None:
    start = utcnow() - timedelta(days=2)
    err = await fail(
        client, tw, "taobao.trades.sold.increment.get", "alice", fields="tid",
        start_modified=top(start), end_modified=top(start + timedelta(days=1, seconds=1)),
    )  # fmt: skip
    assert (err["code"], err["sub_code"]) == (41, "isv.invalid-parameter:end_modified")
    body = await call(
        client, tw, "taobao.trades.sold.increment.get", "alice", fields="tid",
        start_modified=top(start), end_modified=top(start + timedelta(days=1)),
    )  # fmt: skip
    assert body["trades_sold_increment_get_response"]["total_results"] == 0


async def test_increment_get_tenancy_and_roles(client: httpx.AsyncClient, tw: TW) -> None:
    start = utcnow() - timedelta(hours=1)
    await buy(tw, [(tw.dress.id, tw.red_m.id, 1)], "a")
    window = {"start_modified": top(start), "end_modified": top(utcnow() + timedelta(hours=1))}
    body = await call(client, tw, "taobao.trades.sold.increment.get", "bob", fields="tid", **window)
    assert body["trades_sold_increment_get_response"]["total_results"] == 0
    err = await fail(
        client, tw, "taobao.trades.sold.increment.get", "carol", fields="tid", **window
    )
    assert (err["code"], err["sub_code"]) == (42, "isv.user-not-seller")


# --- taobao.trades.bought.get --------------------------------------------------------


async def test_bought_get_returns_the_buyers_trades_without_the_memo(
    client: httpx.AsyncClient, tw: TW
) -> None:
    mine = await buy(tw, [(tw.dress.id, tw.red_m.id, 1)], "mine")
    clock.advance(timedelta(minutes=1))
    phone = await buy(tw, [(tw.phone.id, 0, 1)], "phone", pay=False)
    await buy(tw, [(tw.dress.id, tw.blue_l.id, 1)], "dave", buyer=tw.dave)
    async with tw.db.write() as session:
        await trade.update_memo(session, tw.alice, mine, memo="secret note", flag=2)

    body = await call(
        client, tw, "taobao.trades.bought.get", "carol",
        fields="tid,status,seller_nick,title,seller_memo,seller_flag,payment",
    )  # fmt: skip

    inner = body["trades_bought_get_response"]
    assert inner["total_results"] == 2
    assert inner["trades"]["trade"] == [
        {
            "tid": phone,
            "tid_str": str(phone),
            "status": "WAIT_BUYER_PAY",
            "seller_nick": "bob",
            "title": "bob's shop",
            "payment": "999.00",
        },
        {
            "tid": mine,
            "tid_str": str(mine),
            "status": "WAIT_SELLER_SEND_GOODS",
            "seller_nick": "alice",
            "title": "alice's shop",
            "payment": "10.00",
        },
    ]
    body = await call(
        client, tw, "taobao.trades.bought.get", "carol", fields="tid", seller_nick="bob"
    )
    assert [t["tid"] for t in body["trades_bought_get_response"]["trades"]["trade"]] == [phone]


async def test_bought_get_errors_and_tenancy(client: httpx.AsyncClient, tw: TW) -> None:
    await buy(tw, [(tw.dress.id, tw.red_m.id, 1)], "mine")
    err = await fail(client, tw, "taobao.trades.bought.get", "carol")
    assert (err["code"], err["sub_code"]) == (40, "isv.missing-parameter:fields")
    err = await fail(client, tw, "taobao.trades.bought.get", "carol", fields="tid", page_size=500)
    assert (err["code"], err["sub_code"]) == (41, "isv.invalid-parameter:page_size")
    body = await call(client, tw, "taobao.trades.bought.get", "dave", fields="tid")
    assert body["trades_bought_get_response"]["total_results"] == 0
    err = await fail(client, tw, "taobao.trades.bought.get", "alice", fields="tid")
    assert (err["code"], err["sub_code"]) == (42, "isv.user-not-buyer")


# --- taobao.trade.fullinfo.get and taobao.trade.get ---------------------------------


async def test_fullinfo_get_returns_one_trade_with_its_orders(
    client: httpx.AsyncClient, tw: TW
) -> None:
    tid = await buy(tw, [(tw.dress.id, tw.red_m.id, 1), (tw.dress.id, tw.blue_l.id, 1)], "m")
    await ship(tw, tid)
    body = await call(
        client, tw, "taobao.trade.fullinfo.get", "alice",
        fields="tid,status,consign_time,timeout_action_time,orders", tid=tid,
    )  # fmt: skip
    t = await load(tw, tid)
    assert body["trade_fullinfo_get_response"]["trade"] == {
        "tid": tid,
        "tid_str": str(tid),
        "status": "WAIT_BUYER_CONFIRM_GOODS",
        "consign_time": top(t.consign_time),
        "timeout_action_time": top(t.timeout_action_time),
        "orders": {"order": [expected_order(tw, t, 0), expected_order(tw, t, 1)]},
    }
    assert (
        body["trade_fullinfo_get_response"]["trade"]["orders"]["order"][0]["invoice_no"]
        == "SF123456789012"
    )


async def test_fullinfo_get_errors(client: httpx.AsyncClient, tw: TW) -> None:
    tid = await buy(tw, [(tw.dress.id, tw.red_m.id, 1)], "a")
    method = "taobao.trade.fullinfo.get"
    err = await fail(client, tw, method, "alice", fields="tid")
    assert (err["code"], err["sub_code"]) == (40, "isv.missing-parameter:tid")
    err = await fail(client, tw, method, "alice", tid=tid)
    assert (err["code"], err["sub_code"]) == (40, "isv.missing-parameter:fields")
    err = await fail(client, tw, method, "alice", fields="tid", tid="12ab")
    assert (err["code"], err["sub_code"]) == (41, "isv.invalid-parameter:tid")
    err = await fail(client, tw, method, "bob", fields="tid,receiver_name", tid=tid)
    assert (err["code"], err["sub_code"]) == (15, "isv.not-found")
    assert "张三" not in str(err)
    err = await fail(client, tw, method, "carol", fields="tid", tid=tid)
    assert (err["code"], err["sub_code"]) == (42, "isv.user-not-seller")


async def test_trade_get_serves_the_seller_and_the_buyer(client: httpx.AsyncClient, tw: TW) -> None:
    tid = await buy(tw, [(tw.dress.id, tw.red_m.id, 1)], "a")
    async with tw.db.write() as session:
        await trade.update_memo(session, tw.alice, tid, memo="fragile", flag=1)
    fields = "tid,buyer_nick,seller_memo,seller_flag,orders.oid"
    t = await load(tw, tid)
    oid = t.orders[0].id
    body = await call(client, tw, "taobao.trade.get", "alice", fields=fields, tid=tid)
    assert body["trade_get_response"]["trade"] == {
        "tid": tid,
        "tid_str": str(tid),
        "buyer_nick": "carol",
        "seller_memo": "fragile",
        "seller_flag": 1,
        "orders": {"order": [{"oid": oid, "oid_str": str(oid)}]},
    }
    body = await call(client, tw, "taobao.trade.get", "carol", fields=fields, tid=tid)
    assert body["trade_get_response"]["trade"] == {
        "tid": tid,
        "tid_str": str(tid),
        "buyer_nick": "carol",
        "orders": {"order": [{"oid": oid, "oid_str": str(oid)}]},
    }


async def test_trade_get_errors(client: httpx.AsyncClient, tw: TW) -> None:
    tid = await buy(tw, [(tw.dress.id, tw.red_m.id, 1)], "a")
    err = await fail(client, tw, "taobao.trade.get", "carol", fields="tid")
    assert (err["code"], err["sub_code"]) == (40, "isv.missing-parameter:tid")
    err = await fail(client, tw, "taobao.trade.get", "carol", fields="tid", tid="-x")
    assert (err["code"], err["sub_code"]) == (41, "isv.invalid-parameter:tid")
    for stranger in ("dave", "bob"):
        err = await fail(client, tw, "taobao.trade.get", stranger, fields="tid", tid=tid)
        assert (err["code"], err["sub_code"]) == (15, "isv.not-found")


# --- taobao.trade.memo.add / .update -------------------------------------------------


async def test_memo_add_sets_the_memo_and_records_the_event(
    client: httpx.AsyncClient, tw: TW
) -> None:
    tid = await buy(tw, [(tw.dress.id, tw.red_m.id, 1)], "a")
    body = await call(client, tw, "taobao.trade.memo.add", "alice", tid=tid, memo="送礼", flag=3)
    t = await load(tw, tid)
    assert (t.seller_memo, t.seller_flag) == ("送礼", 3)
    assert body["trade_memo_add_response"]["trade"] == {
        "tid": tid,
        "tid_str": str(tid),
        "created": top(t.modified),
    }
    assert (await events(tw, tid))[-1] == ev.TRADE_MEMO_MODIFIED


async def test_memo_add_errors_change_nothing(client: httpx.AsyncClient, tw: TW) -> None:
    tid = await buy(tw, [(tw.dress.id, tw.red_m.id, 1)], "a")
    before = await snapshot(tw)
    err = await fail(client, tw, "taobao.trade.memo.add", "alice", tid=tid)
    assert (err["code"], err["sub_code"]) == (40, "isv.missing-parameter:memo")
    err = await fail(client, tw, "taobao.trade.memo.add", "alice", tid=tid, memo="x", flag=9)
    assert (err["code"], err["sub_code"]) == (41, "isv.invalid-parameter:flag")
    err = await fail(client, tw, "taobao.trade.memo.add", "alice", tid=tid, memo="x" * 1001)
    assert (err["code"], err["sub_code"]) == (41, "isv.invalid-parameter:memo")
    err = await fail(client, tw, "taobao.trade.memo.add", "bob", tid=tid, memo="mine now")
    assert (err["code"], err["sub_code"]) == (15, "isv.not-found")
    err = await fail(client, tw, "taobao.trade.memo.add", "carol", tid=tid, memo="hi")
    assert (err["code"], err["sub_code"]) == (42, "isv.user-not-seller")
    assert await snapshot(tw) == before


async def test_memo_update_changes_flag_and_resets_the_memo(
    client: httpx.AsyncClient, tw: TW
) -> None:
    tid = await buy(tw, [(tw.dress.id, tw.red_m.id, 1)], "a")
    async with tw.db.write() as session:
        await trade.update_memo(session, tw.alice, tid, memo="old", flag=1)
    body = await call(client, tw, "taobao.trade.memo.update", "alice", tid=tid, flag=4)
    t = await load(tw, tid)
    assert (t.seller_memo, t.seller_flag) == ("old", 4)
    assert body["trade_memo_update_response"]["trade"] == {
        "tid": tid,
        "tid_str": str(tid),
        "modified": top(t.modified),
    }
    await call(
        client, tw, "taobao.trade.memo.update", "alice", tid=tid, memo="ignored", reset="true"
    )
    t = await load(tw, tid)
    assert (t.seller_memo, t.seller_flag) == ("", 4)
    assert (await events(tw, tid))[-2:] == [ev.TRADE_MEMO_MODIFIED, ev.TRADE_MEMO_MODIFIED]


async def test_memo_update_errors_change_nothing(client: httpx.AsyncClient, tw: TW) -> None:
    tid = await buy(tw, [(tw.dress.id, tw.red_m.id, 1)], "a")
    before = await snapshot(tw)
    err = await fail(client, tw, "taobao.trade.memo.update", "alice", memo="x")
    assert (err["code"], err["sub_code"]) == (40, "isv.missing-parameter:tid")
    err = await fail(client, tw, "taobao.trade.memo.update", "alice", tid=tid)
    assert (err["code"], err["sub_code"]) == (40, "isv.missing-parameter:memo")
    err = await fail(client, tw, "taobao.trade.memo.update", "alice", tid=tid, flag=-1)
    assert (err["code"], err["sub_code"]) == (41, "isv.invalid-parameter:flag")
    err = await fail(client, tw, "taobao.trade.memo.update", "bob", tid=tid, memo="x")
    assert (err["code"], err["sub_code"]) == (15, "isv.not-found")
    err = await fail(client, tw, "taobao.trade.memo.update", "carol", tid=tid, memo="x")
    assert (err["code"], err["sub_code"]) == (42, "isv.user-not-seller")
    assert await snapshot(tw) == before


# --- taobao.trade.close --------------------------------------------------------------


async def test_close_closes_an_unpaid_trade_and_gives_stock_back(
    client: httpx.AsyncClient, tw: TW
) -> None:
    tid = await buy(tw, [(tw.dress.id, tw.red_m.id, 2)], "a", pay=False)
    async with tw.db.read() as session:
        assert (await session.get(Sku, tw.red_m.id)).quantity == 3  # type: ignore[union-attr]
    body = await call(
        client, tw, "taobao.trade.close", "alice", tid=tid, close_reason="买家不想买了"
    )
    t = await load(tw, tid)
    assert body["trade_close_response"]["trade"] == {
        "tid": tid,
        "tid_str": str(tid),
        "modified": top(t.modified),
        "status": "TRADE_CLOSED_BY_TAOBAO",
    }
    assert t.end_time is not None
    async with tw.db.read() as session:
        assert (await session.get(Sku, tw.red_m.id)).quantity == 5  # type: ignore[union-attr]
        close_job = await session.scalar(select(Job).where(Job.key == trade.close_job_key(tid)))
        assert close_job is None or close_job.status != "pending"
    assert (await events(tw, tid))[-1] == ev.TRADE_CLOSE


async def test_close_errors_change_nothing(client: httpx.AsyncClient, tw: TW) -> None:
    unpaid = await buy(tw, [(tw.dress.id, tw.red_m.id, 1)], "a", pay=False)
    paid = await buy(tw, [(tw.dress.id, tw.blue_l.id, 1)], "b")
    before = await snapshot(tw)
    err = await fail(client, tw, "taobao.trade.close", "alice", tid=unpaid)
    assert (err["code"], err["sub_code"]) == (40, "isv.missing-parameter:close_reason")
    err = await fail(client, tw, "taobao.trade.close", "alice", tid="x", close_reason="r")
    assert (err["code"], err["sub_code"]) == (41, "isv.invalid-parameter:tid")
    err = await fail(client, tw, "taobao.trade.close", "alice", tid=unpaid, close_reason="r" * 201)
    assert (err["code"], err["sub_code"]) == (41, "isv.invalid-parameter:close_reason")
    err = await fail(client, tw, "taobao.trade.close", "alice", tid=paid, close_reason="r")
    assert (err["code"], err["sub_code"]) == (15, "isv.illegal-transition")
    err = await fail(client, tw, "taobao.trade.close", "bob", tid=unpaid, close_reason="r")
    assert (err["code"], err["sub_code"]) == (15, "isv.not-found")
    err = await fail(client, tw, "taobao.trade.close", "carol", tid=unpaid, close_reason="r")
    assert (err["code"], err["sub_code"]) == (42, "isv.user-not-seller")
    assert await snapshot(tw) == before


# --- taobao.trade.shippingaddress.update ---------------------------------------------


async def test_shippingaddress_update_replaces_the_given_fields(
    client: httpx.AsyncClient, tw: TW
) -> None:
    tid = await buy(tw, [(tw.dress.id, tw.red_m.id, 1)], "a")
    body = await call(
        client, tw, "taobao.trade.shippingaddress.update", "alice", tid=tid,
        receiver_name="王五", receiver_mobile="13900139000", receiver_address="文二路 1 号",
    )  # fmt: skip
    t = await load(tw, tid)
    assert body["trade_shippingaddress_update_response"]["trade"] == {
        "tid": tid,
        "tid_str": str(tid),
        "modified": top(t.modified),
    }
    assert (t.receiver_name, t.receiver_mobile, t.receiver_address, t.receiver_city) == (
        "王五",
        "13900139000",
        "文二路 1 号",
        "杭州市",
    )
    assert (await events(tw, tid))[-1] == ev.TRADE_ADDRESS_CHANGED


async def test_shippingaddress_update_errors_change_nothing(
    client: httpx.AsyncClient, tw: TW
) -> None:
    tid = await buy(tw, [(tw.dress.id, tw.red_m.id, 1)], "a")
    shipped = await buy(tw, [(tw.dress.id, tw.blue_l.id, 1)], "b")
    await ship(tw, shipped)
    before = await snapshot(tw)
    method = "taobao.trade.shippingaddress.update"
    err = await fail(client, tw, method, "alice", receiver_name="王五")
    assert (err["code"], err["sub_code"]) == (40, "isv.missing-parameter:tid")
    err = await fail(client, tw, method, "alice", tid=tid, receiver_mobile="12345")
    assert (err["code"], err["sub_code"]) == (41, "isv.invalid-parameter:receiver_mobile")
    err = await fail(client, tw, method, "alice", tid=tid, receiver_zip="31")
    assert (err["code"], err["sub_code"]) == (41, "isv.invalid-parameter:receiver_zip")
    err = await fail(client, tw, method, "alice", tid=shipped, receiver_name="王五")
    assert (err["code"], err["sub_code"]) == (15, "isv.illegal-transition")
    err = await fail(client, tw, method, "bob", tid=tid, receiver_name="王五")
    assert (err["code"], err["sub_code"]) == (15, "isv.not-found")
    err = await fail(client, tw, method, "carol", tid=tid, receiver_name="王五")
    assert (err["code"], err["sub_code"]) == (42, "isv.user-not-seller")
    assert await snapshot(tw) == before


# --- taobao.trade.receivetime.delay --------------------------------------------------


async def test_receivetime_delay_pushes_the_auto_confirmation_back(
    client: httpx.AsyncClient, tw: TW
) -> None:
    tid = await buy(tw, [(tw.dress.id, tw.red_m.id, 1)], "a")
    await ship(tw, tid)
    deadline = (await load(tw, tid)).timeout_action_time
    assert deadline is not None
    body = await call(client, tw, "taobao.trade.receivetime.delay", "alice", tid=tid, days=5)
    t = await load(tw, tid)
    assert t.timeout_action_time == deadline + timedelta(days=5)
    assert body["trade_receivetime_delay_response"]["trade"] == {
        "tid": tid,
        "tid_str": str(tid),
        "modified": top(t.modified),
    }
    async with tw.db.read() as session:
        job = await session.scalar(select(Job).where(Job.key == trade.confirm_job_key(tid)))
        assert job is not None and job.run_at == deadline + timedelta(days=5)
    assert (await events(tw, tid))[-1] == ev.TRADE_CHANGED
    # The seller's delay leaves the buyer's own once-only extension available.
    async with tw.db.write() as session:
        await trade.extend_receive_time(session, tw.carol, tid)


async def test_receivetime_delay_errors_change_nothing(client: httpx.AsyncClient, tw: TW) -> None:
    tid = await buy(tw, [(tw.dress.id, tw.red_m.id, 1)], "a")
    unshipped = await buy(tw, [(tw.dress.id, tw.blue_l.id, 1)], "b")
    await ship(tw, tid)
    before = await snapshot(tw)
    method = "taobao.trade.receivetime.delay"
    err = await fail(client, tw, method, "alice", tid=tid)
    assert (err["code"], err["sub_code"]) == (40, "isv.missing-parameter:days")
    err = await fail(client, tw, method, "alice", tid=tid, days=4)
    assert (err["code"], err["sub_code"]) == (41, "isv.invalid-parameter:days")
    err = await fail(client, tw, method, "alice", tid=unshipped, days=3)
    assert (err["code"], err["sub_code"]) == (15, "isv.illegal-transition")
    err = await fail(client, tw, method, "bob", tid=tid, days=3)
    assert (err["code"], err["sub_code"]) == (15, "isv.not-found")
    err = await fail(client, tw, method, "carol", tid=tid, days=3)
    assert (err["code"], err["sub_code"]) == (42, "isv.user-not-seller")
    assert await snapshot(tw) == before


# --- the service functions added for the open platform ------------------------------


async def test_search_services_keep_to_their_user(tw: TW) -> None:
    mine = await buy(tw, [(tw.dress.id, tw.red_m.id, 1)], "a")
    theirs = await buy(tw, [(tw.phone.id, 0, 1)], "b", buyer=tw.dave)
    everything = trade.TradeSearch()
    async with tw.db.read() as session:
        sold = await trade.search_sold_trades(session, tw.alice, everything, PageRequest())
        bought = await trade.search_bought_trades(session, tw.dave, everything, PageRequest())
        by_nick = await trade.search_sold_trades(
            session, tw.alice, trade.TradeSearch(buyer_nick="dave"), PageRequest()
        )
        assert [t.id for t in sold.items] == [mine]
        assert [t.id for t in bought.items] == [theirs]
        assert by_nick.items == []
        assert (await trade.get_party_trade(session, tw.carol, mine)).id == mine
        assert (await trade.get_party_trade(session, tw.alice, mine)).id == mine
        with pytest.raises(NotFound):
            await trade.get_party_trade(session, tw.bob, mine)
        with pytest.raises(ValidationFailed) as exc:
            await trade.search_sold_trades(
                session, tw.alice, trade.TradeSearch(status="NOPE"), PageRequest()
            )
        assert exc.value.problems[0].field == "status"
        now = utcnow()
        with pytest.raises(ValidationFailed) as exc:
            await trade.changed_sold_trades(
                session,
                tw.alice,
                trade.TradeSearch(start_modified=now, end_modified=now - timedelta(seconds=1)),
                PageRequest(),
            )
        assert exc.value.problems[0].field == "end_modified"
        assert await trade.shop_titles(session, [tw.dress.shop_id]) == {
            tw.dress.shop_id: "alice's shop"
        }


async def test_close_by_seller_shares_the_unpaid_rule(tw: TW) -> None:
    paid = await buy(tw, [(tw.dress.id, tw.red_m.id, 1)], "a")
    async with tw.db.write() as session:
        with pytest.raises(Conflict):
            await trade.close_by_seller(session, tw.alice, paid, reason="r")
        with pytest.raises(ValidationFailed):
            await trade.close_by_seller(session, tw.alice, paid, reason="  ")
        with pytest.raises(NotFound):
            await trade.close_by_seller(session, tw.bob, paid, reason="r")


async def test_seller_change_address_checks_like_the_address_book(tw: TW) -> None:
    tid = await buy(tw, [(tw.dress.id, tw.red_m.id, 1)], "a", pay=False)
    async with tw.db.write() as session:
        with pytest.raises(ValidationFailed) as exc:
            await trade.seller_change_address(session, tw.alice, tid, name=" ")
        assert exc.value.problems[0].field == "receiver_name"
        with pytest.raises(ValidationFailed) as exc:
            await trade.seller_change_address(session, tw.alice, tid, phone="abc")
        assert exc.value.problems[0].field == "receiver_phone"
        with pytest.raises(ValidationFailed):
            await trade.seller_change_address(session, tw.alice, tid)
        t = await trade.seller_change_address(session, tw.alice, tid, phone="0571-88886666")
        assert t.receiver_mobile == "0571-88886666"


async def test_delay_receive_time_needs_a_running_timer(tw: TW) -> None:
    tid = await buy(tw, [(tw.dress.id, tw.red_m.id, 1)], "a")
    async with tw.db.write() as session:
        with pytest.raises(Conflict):
            await trade.delay_receive_time(session, tw.alice, tid, days=3)
        with pytest.raises(ValidationFailed):
            await trade.delay_receive_time(session, tw.alice, tid, days=1)
