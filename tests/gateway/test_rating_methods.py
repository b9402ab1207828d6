"""The ratings methods through /router/rest (Style A: system parameters in the query, business
parameters in the form body, md5, ms timestamps), and the service functions they added."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from mercato.gateway import envelope
from mercato.kit.clock import clock, utcnow
from mercato.kit.errors import NotFound, ValidationFailed
from mercato.kit.pagination import PageRequest
from mercato.ledger.service import deposit
from mercato.logistics.carriers import ensure_carriers
from mercato.models import App, OutboxEvent, Trade, TradeRate
from mercato.ratings import service as ratings
from mercato.ratings.schemas import TRADE_RATED
from mercato.trade import service as trade
from tests.factories.gateway import make_app, make_token
from tests.gateway.conftest import error_of, style_a, system
from tests.trade.conftest import Shop2, w  # noqa: F401  (the trade world, reused)

TIME = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$")
RATE_FIELDS = (
    "tid,oid,role,nick,result,created,rated_nick,item_title,item_price,content,reply,num_iid"
)


@dataclass
class RateWorld:
    w: Shop2
    app: App
    secret: str
    alice: str  # tokens
    bob: str
    carol: str
    t1: Trade  # carol bought 1 × red/M from alice; finished
    t2: Trade  # carol bought the phone from bob; finished

    @property
    def key(self) -> str:
        return self.app.app_key


async def _finished(sw: Shop2, key: str, line: tuple[int, int, int], seller_nick: str) -> Trade:
    async with sw.db.write() as session:
        (t,) = await trade.checkout(
            session, sw.buyer, lines=[line], address_id=sw.address.id, checkout_key=key
        )
        await deposit(session, sw.buyer.id, 500_000, key=f"dep-{key}")
        await trade.pay(session, sw.buyer, [t.id], key=f"pay-{key}")
    seller = sw.alice if seller_nick == "alice" else sw.bob
    async with sw.db.write() as session:
        await trade.ship(session, seller, t.id, company="SF", invoice_no=f"SF-{key}")
    async with sw.db.write() as session:
        await trade.confirm_receipt(session, sw.buyer, t.id)
    async with sw.db.read() as session:
        done = await session.get(Trade, t.id)
        assert done is not None and done.status == "TRADE_FINISHED"
        return done


@pytest.fixture
async def rt(w: Shop2) -> RateWorld:  # noqa: F811
    async with w.db.write() as session:
        await ensure_carriers(session)
    t1 = await _finished(w, "t1", (w.dress.id, w.red_m.id, 1), "alice")
    t2 = await _finished(w, "t2", (w.phone.id, 0, 1), "bob")
    async with w.db.write() as session:
        app, secret = await make_app(session, w.alice, packages=("trades-read", "trades-write"))
        tokens = [await make_token(session, app, u) for u in (w.alice, w.bob, w.buyer)]
    return RateWorld(w, app, secret, *tokens, t1, t2)


async def call(
    client: httpx.AsyncClient, rt: RateWorld, method: str, token: str, **business: str
) -> httpx.Response:
    return await style_a(client, rt, system(rt, method, session=token), business)  # type: ignore[arg-type]


def ok(response: httpx.Response, root: str) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    body = response.json()
    assert list(body) == [root], body
    inner: dict[str, Any] = body[root]
    assert inner.pop("request_id")
    return inner


async def snapshot(rt: RateWorld) -> dict[str, Any]:
    """What a refused rating must leave alone."""
    async with rt.w.db.read() as session:
        out: dict[str, Any] = {
            "rates": [
                (r.id, r.order_id, r.role, r.result, r.content)
                for r in await session.scalars(select(TradeRate).order_by(TradeRate.id))
            ],
            "events": await session.scalar(select(func.count()).select_from(OutboxEvent)),
        }
        for t in await session.scalars(select(Trade).order_by(Trade.id)):
            out[f"trade:{t.id}"] = (t.buyer_rate, t.seller_rate, t.event_seq, t.modified)
        return out


async def rate(
    client: httpx.AsyncClient, rt: RateWorld, token: str, **business: str
) -> httpx.Response:
    return await call(client, rt, "taobao.traderate.add", token, **business)


# --- taobao.traderate.add -------------------------------------------------------------


async def test_add_rates_the_trade_and_records_the_event(
    client: httpx.AsyncClient, rt: RateWorld
) -> None:
    t1 = rt.t1
    oid = t1.orders[0].id
    response = await rate(
        client, rt, rt.carol, tid=str(t1.id), result="good", role="buyer", content="很好"
    )
    inner = ok(response, "traderate_add_response")
    assert TIME.match(inner["trade_rate"].pop("created"))
    assert inner == {
        "trade_rate": {"tid": t1.id, "tid_str": str(t1.id), "oid": oid, "oid_str": str(oid)}
    }
    async with rt.w.db.read() as session:
        (row,) = await session.scalars(select(TradeRate))
        assert (row.trade_id, row.role, row.result, row.content) == (t1.id, "buyer", "good", "很好")
        done = await session.get(Trade, t1.id)
        assert done is not None and done.buyer_rate is True
        topics = await session.scalars(
            select(OutboxEvent.topic).where(OutboxEvent.subject == f"trade:{t1.id}")
        )
        assert list(topics)[-1] == TRADE_RATED
    # the seller rates back, naming the order
    response = await rate(
        client, rt, rt.alice, tid=str(t1.id), oid=str(oid), result="good", role="seller"
    )
    assert ok(response, "traderate_add_response")["trade_rate"]["oid"] == oid
    # a second rating by the same side is a business error
    before = await snapshot(rt)
    response = await rate(client, rt, rt.carol, tid=str(t1.id), result="bad", role="buyer")
    err = error_of(response)
    assert (err["code"], err["sub_code"]) == (15, "isv.already-rated")
    assert await snapshot(rt) == before


async def test_add_needs_a_result(client: httpx.AsyncClient, rt: RateWorld) -> None:
    before = await snapshot(rt)
    err = error_of(await rate(client, rt, rt.carol, tid=str(rt.t1.id), role="buyer"))
    assert (err["code"], err["sub_code"]) == (40, "isv.missing-parameter:result")
    assert await snapshot(rt) == before


@pytest.mark.parametrize(
    ("business", "field"),
    [
        ({"result": "great", "role": "buyer"}, "result"),
        ({"result": "good", "role": "admin"}, "role"),
        ({"result": "good", "role": "buyer", "content": "长" * 501}, "content"),
        ({"result": "good", "role": "buyer", "anony": "maybe"}, "anony"),
    ],
)
async def test_add_rejects_invalid_values(
    client: httpx.AsyncClient, rt: RateWorld, business: dict[str, str], field: str
) -> None:
    before = await snapshot(rt)
    err = error_of(await rate(client, rt, rt.carol, tid=str(rt.t1.id), **business))
    assert (err["code"], err["sub_code"]) == (41, f"isv.invalid-parameter:{field}")
    assert await snapshot(rt) == before


async def test_add_by_someone_not_that_party_is_not_found(
    client: httpx.AsyncClient, rt: RateWorld
) -> None:
    before = await snapshot(rt)
    tid = str(rt.t1.id)
    for token, role in ((rt.bob, "seller"), (rt.bob, "buyer"), (rt.carol, "seller")):
        err = error_of(await rate(client, rt, token, tid=tid, result="bad", role=role))
        assert (err["code"], err["sub_code"]) == (15, "isv.not-found")
    assert await snapshot(rt) == before


async def test_add_after_the_window_is_a_business_error(
    client: httpx.AsyncClient, rt: RateWorld
) -> None:
    async with rt.w.db.write() as session:  # a token that outlives the window
        token = await make_token(session, rt.app, rt.w.buyer, expires_in=timedelta(days=30))
    before = await snapshot(rt)
    clock.advance(timedelta(days=15, minutes=1))
    try:
        err = error_of(
            await rate(client, rt, token, tid=str(rt.t1.id), result="good", role="buyer")
        )
    finally:
        clock.reset()
    assert (err["code"], err["sub_code"]) == (15, "isv.rate-window-closed")
    assert await snapshot(rt) == before


# --- taobao.traderates.get ------------------------------------------------------------


async def _both_rated(client: httpx.AsyncClient, rt: RateWorld) -> None:
    for token, role, result in ((rt.carol, "buyer", "good"), (rt.alice, "seller", "neutral")):
        response = await rate(
            client, rt, token, tid=str(rt.t1.id), result=result, role=role, content=f"{role}说"
        )
        ok(response, "traderate_add_response")
    response = await rate(client, rt, rt.carol, tid=str(rt.t2.id), result="bad", role="buyer")
    ok(response, "traderate_add_response")


async def rates(
    client: httpx.AsyncClient, rt: RateWorld, token: str, **business: str
) -> httpx.Response:
    business.setdefault("fields", RATE_FIELDS)
    return await call(client, rt, "taobao.traderates.get", token, **business)


async def test_get_returns_the_users_ratings_in_tops_shape(
    client: httpx.AsyncClient, rt: RateWorld
) -> None:
    await _both_rated(client, rt)
    t1, oid = rt.t1, rt.t1.orders[0].id
    # the ratings alice received from buyers
    inner = ok(
        await rates(client, rt, rt.alice, rate_type="get", role="buyer"),
        "traderates_get_response",
    )
    assert inner["total_results"] == 1
    (got,) = inner["trade_rates"]["trade_rate"]
    assert TIME.match(got.pop("created"))
    assert got == {
        "tid": t1.id,
        "tid_str": str(t1.id),
        "oid": oid,
        "oid_str": str(oid),
        "role": "buyer",
        "nick": "carol",
        "result": "good",
        "rated_nick": "alice",
        "item_title": rt.w.dress.title,
        "item_price": "10.00",
        "content": "buyer说",
        "num_iid": rt.w.dress.id,
    }
    # the ratings alice gave, as the seller
    inner = ok(
        await rates(
            client, rt, rt.alice, rate_type="give", role="seller", fields="nick,rated_nick,result"
        ),
        "traderates_get_response",
    )
    assert inner == {
        "total_results": 1,
        "trade_rates": {
            "trade_rate": [{"nick": "alice", "rated_nick": "carol", "result": "neutral"}]
        },
    }


async def test_get_filters_and_pages(client: httpx.AsyncClient, rt: RateWorld) -> None:
    await _both_rated(client, rt)

    async def given(**business: str) -> dict[str, Any]:
        response = await rates(
            client, rt, rt.carol, rate_type="give", role="buyer", fields="tid", **business
        )
        return ok(response, "traderates_get_response")

    assert (await given())["total_results"] == 2
    assert (await given(result="bad"))["trade_rates"]["trade_rate"] == [
        {"tid": rt.t2.id, "tid_str": str(rt.t2.id)}
    ]
    assert (await given(tid=str(rt.t1.id)))["total_results"] == 1
    assert (await given(num_iid=str(rt.w.phone.id)))["total_results"] == 1
    later = envelope.top_datetime(utcnow() + timedelta(hours=1))
    assert await given(start_date=later) == {"total_results": 0}
    assert (await given(end_date=later))["total_results"] == 2
    first = await given(page_size="1", use_has_next="true")
    assert first["has_next"] is True and "total_results" not in first
    assert (await given(page_size="1", page_no="2", use_has_next="true"))["has_next"] is False


async def test_get_needs_rate_type(client: httpx.AsyncClient, rt: RateWorld) -> None:
    err = error_of(await rates(client, rt, rt.alice, role="buyer"))
    assert (err["code"], err["sub_code"]) == (40, "isv.missing-parameter:rate_type")


@pytest.mark.parametrize(
    ("business", "field"),
    [
        ({"rate_type": "take", "role": "buyer"}, "rate_type"),
        ({"rate_type": "get", "role": "admin"}, "role"),
        ({"rate_type": "get", "role": "buyer", "result": "great"}, "result"),
        ({"rate_type": "get", "role": "buyer", "page_size": "151"}, "page_size"),
        ({"rate_type": "get", "role": "buyer", "start_date": "01/01/2026"}, "start_date"),
    ],
)
async def test_get_rejects_invalid_values(
    client: httpx.AsyncClient, rt: RateWorld, business: dict[str, str], field: str
) -> None:
    err = error_of(await rates(client, rt, rt.alice, **business))
    assert (err["code"], err["sub_code"]) == (41, f"isv.invalid-parameter:{field}")


async def test_get_shows_another_seller_none_of_alices(
    client: httpx.AsyncClient, rt: RateWorld
) -> None:
    await _both_rated(client, rt)
    inner = ok(
        await rates(client, rt, rt.bob, rate_type="get", role="buyer", fields="tid,rated_nick"),
        "traderates_get_response",
    )
    assert inner == {
        "total_results": 1,
        "trade_rates": {
            "trade_rate": [{"tid": rt.t2.id, "tid_str": str(rt.t2.id), "rated_nick": "bob"}]
        },
    }
    for role in ("buyer", "seller"):
        inner = ok(
            await rates(client, rt, rt.bob, rate_type="give", role=role),
            "traderates_get_response",
        )
        assert inner == {"total_results": 0}


async def test_methods_need_the_trades_packages(client: httpx.AsyncClient, rt: RateWorld) -> None:
    # given: an app holding only the refunds package
    async with rt.w.db.write() as session:
        app, secret = await make_app(session, rt.w.alice, packages=("refunds",))
        token = await make_token(session, app, rt.w.buyer)
    narrow = RateWorld(rt.w, app, secret, "", "", token, rt.t1, rt.t2)
    before = await snapshot(rt)
    err = error_of(
        await rate(client, narrow, token, tid=str(rt.t1.id), result="good", role="buyer")
    )
    assert (err["code"], err["sub_code"]) == (11, "isv.permission-api-package-not-allowed")
    err = error_of(await rates(client, narrow, token, rate_type="give", role="buyer"))
    assert err["code"] == 11
    assert await snapshot(rt) == before


# --- the service functions the methods added ------------------------------------------


async def test_rate_as_a_named_role(rt: RateWorld) -> None:
    sw = rt.w
    async with sw.db.write() as session:
        with pytest.raises(NotFound):
            await ratings.rate(session, sw.buyer, tid=rt.t1.id, result="good", role="seller")
        with pytest.raises(ValidationFailed) as exc:
            await ratings.rate(session, sw.buyer, tid=rt.t1.id, result="good", role="x")
        assert exc.value.problems[0].field == "role"
        (given,) = await ratings.rate(session, sw.buyer, tid=rt.t1.id, result="good", role="buyer")
        assert given.role == "buyer"


async def test_search_rates_keeps_to_the_users_own(rt: RateWorld) -> None:
    sw = rt.w
    page = PageRequest(1, 10)
    async with sw.db.write() as session:
        await ratings.rate(session, sw.buyer, tid=rt.t1.id, result="good")
        await ratings.rate(session, sw.buyer, tid=rt.t2.id, result="bad")
    async with sw.db.read() as session:
        got = await ratings.search_rates(
            session, sw.alice, ratings.RateSearch(rate_type="get", role="buyer"), page
        )
        assert [r.trade_id for r in got.items] == [rt.t1.id]
        got = await ratings.search_rates(
            session, sw.alice, ratings.RateSearch(rate_type="get", role="seller"), page
        )
        assert got.total == 0
        got = await ratings.search_rates(
            session,
            sw.buyer,
            ratings.RateSearch(rate_type="give", role="buyer", result="bad"),
            page,
        )
        assert [r.trade_id for r in got.items] == [rt.t2.id]
        orders = await ratings.rated_orders(session, got.items)
        assert list(orders) == [rt.t2.orders[0].id]
        with pytest.raises(ValidationFailed) as exc:
            await ratings.search_rates(
                session, sw.alice, ratings.RateSearch(rate_type="all", role="buyer"), page
            )
        assert exc.value.problems[0].field == "rate_type"
