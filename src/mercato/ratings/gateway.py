"""TOP methods of the ratings domain (registered with mercato.gateway.registry).

Thin adapters over ``mercato.ratings.service``: the service holds the rules (finished
trades only, one rating per order and side, the 15-day window), the tenancy (a trade the
user is not a party of is NotFound) and the ``taobao_trade_TradeRated`` event; this module
parses TOP's parameters and renders TOP's TradeRate (TOP-PROTOCOL.md §9.7). See
docs/api-methods.md, "Ratings".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from mercato.accounts import service as accounts
from mercato.gateway import envelope, registry
from mercato.gateway.context import CallContext
from mercato.gateway.envelope import Fen, FieldSelection
from mercato.gateway.params import top_time
from mercato.gateway.registry import TopParams
from mercato.kit.errors import Conflict, ValidationFailed
from mercato.kit.pagination import PageRequest
from mercato.models import Order, TradeRate
from mercato.ratings import service as ratings

RATE_LISTS = {"trade_rates": "trade_rate"}
MAX_PAGE_SIZE = 150


def trade_rate_object(
    rate: TradeRate, order: Order | None, nicks: Mapping[int, str]
) -> dict[str, Any]:
    """TOP's TradeRate (§9.7) for one rating: every field Mercato has; ``nick`` is the
    rater, ``rated_nick`` the one rated; the caller selects the requested fields."""
    obj: dict[str, Any] = {
        "tid": rate.trade_id,
        "oid": rate.order_id,
        "role": rate.role,
        "nick": nicks.get(rate.rater_id),
        "result": rate.result,
        "created": rate.created,
        "rated_nick": nicks.get(rate.rated_id),
        "content": rate.content,
        "reply": rate.reply or None,
        "num_iid": rate.item_id,
    }
    if order is not None:
        obj.update(item_title=order.title, item_price=Fen(order.price))
    return envelope.with_str_twins(obj, "tid", "oid")


async def trade_rate_objects(
    session: AsyncSession, rows: Sequence[TradeRate], selection: FieldSelection
) -> list[dict[str, Any]]:
    """The requested fields of TOP's TradeRate for each rating, in order (with the
    ``*_str`` twin of a requested ``tid``/``oid``)."""
    orders = await ratings.rated_orders(session, rows)
    nicks = await accounts.nicks(session, {r.rater_id for r in rows} | {r.rated_id for r in rows})
    return [
        envelope.with_str_twins(
            selection.apply(trade_rate_object(r, orders.get(r.order_id), nicks)), "tid", "oid"
        )
        for r in rows
    ]


class TraderatesParams(TopParams):
    fields: str
    rate_type: str
    role: str
    result: str | None = None
    page_no: int | None = None
    page_size: int | None = None
    start_date: str | None = None
    end_date: str | None = None
    tid: int | None = None
    num_iid: int | None = None
    use_has_next: bool = False


@registry.method(
    "taobao.traderates.get",
    params=TraderatesParams,
    package="trades-read",
    session=True,
    role="any",
    fields=("total_results", "has_next", "trade_rates"),
    lists=RATE_LISTS,
    max_page_size=MAX_PAGE_SIZE,
    description="The session user's own ratings, newest first: received (rate_type=get) or "
    "given (give), by the rater's side (role).",
    example={
        "total_results": 1,
        "trade_rates": [
            {
                "tid": 2001,
                "oid": 3001,
                "role": "buyer",
                "nick": "carol",
                "result": "good",
                "created": "2026-01-01 12:00:00",
                "rated_nick": "alice",
                "content": "很好",
            }
        ],
    },
)
async def traderates_get(ctx: CallContext, params: TraderatesParams) -> dict[str, Any]:
    selection = envelope.require_fields(params.fields, RATE_LISTS)
    paging = envelope.paging(
        params.page_no,
        params.page_size,
        max_page_size=MAX_PAGE_SIZE,
        use_has_next=params.use_has_next,
    )
    zone = ctx.settings.zone
    search = ratings.RateSearch(
        rate_type=params.rate_type,
        role=params.role,
        result=params.result,
        start_date=top_time(params.start_date, "start_date", zone),
        end_date=top_time(params.end_date, "end_date", zone),
        tid=params.tid,
        num_iid=params.num_iid,
    )
    page = await ratings.search_rates(
        ctx.db_session, ctx.session_user, search, PageRequest(paging.page_no, paging.page_size)
    )
    listed = await trade_rate_objects(ctx.db_session, page.items, selection)
    meta: dict[str, Any] = (
        {"has_next": page.has_next} if paging.use_has_next else {"total_results": page.total}
    )
    return {**meta, "trade_rates": listed or None}  # TOP omits an empty list


class TraderateAddParams(TopParams):
    tid: int
    result: str
    role: str
    oid: int | None = None
    content: str | None = None
    anony: bool = False  # accepted; Mercato keeps no anonymous ratings


@registry.method(
    "taobao.traderate.add",
    params=TraderateAddParams,
    package="trades-write",
    session=True,
    role="any",
    write=True,
    fields=("trade_rate",),
    description="The session user rates a finished trade they are the named party (role) "
    "of: one order (oid) or all of them, within 15 days of the trade's end, once per side.",
    example={"trade_rate": {"tid": 2001, "oid": 3001, "created": "2026-01-01 12:00:00"}},
)
async def traderate_add(ctx: CallContext, params: TraderateAddParams) -> dict[str, Any]:
    try:
        rates = await ratings.rate(
            ctx.db_session,
            ctx.session_user,
            tid=params.tid,
            result=params.result,
            content=params.content or "",
            oid=params.oid,
            role=params.role,
        )
    except ValidationFailed as exc:
        # The window is a business rule of the trade, not a bad parameter: TOP answers 15.
        if any(p.rule == "rate_window_closed" for p in exc.problems):
            raise Conflict(exc.problems[0].message, code="rate_window_closed") from None
        raise
    rate: dict[str, Any] = {"tid": params.tid, "created": rates[0].created}
    if len(rates) == 1:
        rate["oid"] = rates[0].order_id
    return {"trade_rate": envelope.with_str_twins(rate, "tid", "oid")}
