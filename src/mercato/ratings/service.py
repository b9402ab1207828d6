"""Rating a finished trade, replying to a rating, and reading ratings back.

A rating is one side's verdict on one order (unique per order and role). The trade's
``buyer_rate`` / ``seller_rate`` flag turns on once that side has rated every order, and
each rating call records one ``taobao_trade_TradeRated`` event in the trade's own sequence.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import Select

from mercato.kit.clock import utcnow
from mercato.kit.errors import Conflict, NotFound, ValidationFailed
from mercato.kit.pagination import Page, PageRequest
from mercato.models import Order, Trade, TradeRate, User
from mercato.ratings.schemas import (
    BAD,
    GOOD,
    MAX_CONTENT,
    NEUTRAL,
    RATE_WINDOW,
    RECENT_IN_SUMMARY,
    RESULTS,
    ROLE_BUYER,
    ROLE_SELLER,
    TRADE_RATED,
    ShopSummary,
)
from mercato.trade import repository as trade_repo
from mercato.trade import service as trade_service
from mercato.trade.schemas import TRADE_FINISHED

_TWO_PLACES = Decimal("0.01")


def _check_result(result: str) -> None:
    if result not in RESULTS:
        raise ValidationFailed.one("result", "choice", "result must be good, neutral or bad")


def _check_text(field: str, text: str) -> str:
    text = text.strip()
    if len(text) > MAX_CONTENT:
        raise ValidationFailed.one(
            field, "max_length", f"{field} must be at most {MAX_CONTENT} characters"
        )
    return text


async def _rater_trade(
    session: AsyncSession, user: User, tid: int, role: str | None = None
) -> tuple[Trade, str]:
    """The trade, locked, and the user's role in it; NotFound when it is not theirs (or,
    when ``role`` is given, when they are not its party in that role)."""
    if role is not None and role not in (ROLE_BUYER, ROLE_SELLER):
        raise ValidationFailed.one("role", "choice", "role must be buyer or seller")
    if role in (None, ROLE_BUYER):
        trade = await trade_repo.buyer_trade(session, user.id, tid, for_update=True)
        if trade is not None:
            return trade, ROLE_BUYER
    if role in (None, ROLE_SELLER):
        trade = await trade_repo.seller_trade(session, user.id, tid, for_update=True)
        if trade is not None:
            return trade, ROLE_SELLER
    raise NotFound(f"trade {tid} does not exist")


async def rate(
    session: AsyncSession,
    user: User,
    *,
    tid: int,
    result: str,
    content: str = "",
    oid: int | None = None,
    role: str | None = None,
) -> list[TradeRate]:
    """The buyer (rating the seller's goods) or the seller (rating the buyer) rates one
    order of a finished trade, or every order when ``oid`` is None, within 15 days of the
    trade's end. An order this side already rated makes the whole call a Conflict
    ("already_rated") and nothing changes. ``role`` (the open platform's parameter), when
    given, is the side the user rates as: a trade where they are not that party is
    NotFound."""
    _check_result(result)
    content = _check_text("content", content)
    trade, role = await _rater_trade(session, user, tid, role)
    if trade.status != TRADE_FINISHED:
        raise Conflict(
            f"trade {tid} is {trade.status}; only finished trades can be rated",
            code="trade_not_finished",
        )
    now = utcnow()
    if trade.end_time is None or now > trade.end_time + RATE_WINDOW:
        raise ValidationFailed.one(
            "tid", "rate_window_closed", "a trade can be rated only within 15 days of its end"
        )
    orders: list[Order]
    if oid is None:
        orders = list(trade.orders)
    else:
        orders = [o for o in trade.orders if o.id == oid]
        if not orders:
            raise NotFound(f"order {oid} of trade {tid} does not exist")
    rated_before = set(
        await session.scalars(
            select(TradeRate.order_id).where(
                TradeRate.trade_id == trade.id,
                TradeRate.role == role,
            )
        )
    )
    if any(o.id in rated_before for o in orders):
        raise Conflict(f"trade {tid} was already rated by its {role}", code="already_rated")
    rated_id = trade.seller_id if role == ROLE_BUYER else trade.buyer_id
    rates = [
        TradeRate(
            trade_id=trade.id,
            order_id=o.id,
            shop_id=trade.shop_id,
            item_id=o.item_id,
            role=role,
            rater_id=user.id,
            rated_id=rated_id,
            result=result,
            content=content,
            reply="",
            created=now,
        )
        for o in orders
    ]
    session.add_all(rates)
    try:
        await session.flush()
    except IntegrityError as exc:  # a concurrent rating of the same order won
        raise Conflict(
            f"trade {tid} was already rated by its {role}", code="already_rated"
        ) from exc
    if rated_before.union(o.id for o in orders) >= {o.id for o in trade.orders}:
        if role == ROLE_BUYER:
            trade.buyer_rate = True
        else:
            trade.seller_rate = True
    trade.modified = now
    await trade_service._trade_event(session, trade, TRADE_RATED, oid=orders[0].id, rater=role)
    await session.flush()
    return rates


async def reply(session: AsyncSession, seller: User, rate_id: int, text: str) -> TradeRate:
    """The seller's one reply to a buyer's rating of their goods."""
    text = _check_text("reply", text)
    if not text:
        raise ValidationFailed.one("reply", "required", "the reply must not be empty")
    query = (
        select(TradeRate)
        .where(
            TradeRate.id == rate_id,
            TradeRate.role == ROLE_BUYER,
            TradeRate.rated_id == seller.id,
        )
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    rating = await session.scalar(query)
    if rating is None:
        raise NotFound(f"rating {rate_id} does not exist")
    if rating.replied_at is not None or rating.reply:
        raise Conflict(f"rating {rate_id} already has a reply", code="already_replied")
    rating.reply = text
    rating.replied_at = utcnow()
    await session.flush()
    return rating


# ---------------------------------------------------------------- reads


def _newest_first(query: Select[TradeRate]) -> Select[TradeRate]:
    return query.order_by(TradeRate.created.desc(), TradeRate.id.desc())


async def _page(
    session: AsyncSession, query: Select[TradeRate], page: PageRequest
) -> Page[TradeRate]:
    total = await session.scalar(select(func.count()).select_from(query.subquery()))
    rows = await session.scalars(_newest_first(query).offset(page.offset).limit(page.size))
    return Page(items=list(rows), total=int(total or 0), request=page)


def _shop_query(shop_id: int) -> Select[TradeRate]:
    return select(TradeRate).where(TradeRate.shop_id == shop_id, TradeRate.role == ROLE_BUYER)


async def shop_summary(session: AsyncSession, shop_id: int) -> ShopSummary:
    """Buyers' ratings of a shop's goods: counts, good rate and the latest few."""
    rows = await session.execute(
        select(TradeRate.result, func.count())
        .where(TradeRate.shop_id == shop_id, TradeRate.role == ROLE_BUYER)
        .group_by(TradeRate.result)
    )
    counts = {result: int(n) for result, n in rows}
    total = sum(counts.values())
    good = counts.get(GOOD, 0)
    good_rate = (
        (Decimal(good) / Decimal(total)).quantize(_TWO_PLACES, rounding=ROUND_HALF_UP)
        if total
        else Decimal("0.00")
    )
    recent = await session.scalars(_newest_first(_shop_query(shop_id)).limit(RECENT_IN_SUMMARY))
    return ShopSummary(
        total=total,
        good=good,
        neutral=counts.get(NEUTRAL, 0),
        bad=counts.get(BAD, 0),
        good_rate=good_rate,
        recent=list(recent),
    )


async def shop_rates(
    session: AsyncSession, shop_id: int, page: PageRequest, result: str | None = None
) -> Page[TradeRate]:
    """Buyers' ratings of a shop, newest first, optionally of one result."""
    query = _shop_query(shop_id)
    if result:
        _check_result(result)
        query = query.where(TradeRate.result == result)
    return await _page(session, query, page)


async def my_given(session: AsyncSession, user: User, page: PageRequest) -> Page[TradeRate]:
    """Ratings the user gave (as buyer or as seller), newest first."""
    return await _page(session, select(TradeRate).where(TradeRate.rater_id == user.id), page)


async def my_received(session: AsyncSession, user: User, page: PageRequest) -> Page[TradeRate]:
    """Ratings the user received (as seller or as buyer), newest first."""
    return await _page(session, select(TradeRate).where(TradeRate.rated_id == user.id), page)


# ---------------------------------------------------------------- open-platform reads

RATE_GET = "get"  # ratings the user received
RATE_GIVE = "give"  # ratings the user gave


@dataclass(frozen=True)
class RateSearch:
    """A rating search in TOP's terms (``traderates.get``); each attribute is named after
    its TOP parameter, so a ValidationFailed names it. ``role`` is the rater's side;
    the created range is inclusive."""

    rate_type: str
    role: str
    result: str | None = None
    start_date: datetime | None = None
    end_date: datetime | None = None
    tid: int | None = None
    num_iid: int | None = None


async def search_rates(
    session: AsyncSession, user: User, search: RateSearch, page: PageRequest
) -> Page[TradeRate]:
    """The ratings the user received (``get``) or gave (``give``) with TOP's filters,
    newest first. Only the user's own ratings: given by them or about them."""
    if search.rate_type == RATE_GET:
        query = select(TradeRate).where(TradeRate.rated_id == user.id)
    elif search.rate_type == RATE_GIVE:
        query = select(TradeRate).where(TradeRate.rater_id == user.id)
    else:
        raise ValidationFailed.one("rate_type", "choice", "rate_type must be get or give")
    if search.role not in (ROLE_BUYER, ROLE_SELLER):
        raise ValidationFailed.one("role", "choice", "role must be buyer or seller")
    query = query.where(TradeRate.role == search.role)
    if search.result:
        _check_result(search.result)
        query = query.where(TradeRate.result == search.result)
    start, end = search.start_date, search.end_date
    if start is not None and end is not None and end < start:
        raise ValidationFailed.one("end_date", "range", "must not be before start_date")
    if start is not None:
        query = query.where(TradeRate.created >= start)
    if end is not None:
        query = query.where(TradeRate.created <= end)
    if search.tid is not None:
        query = query.where(TradeRate.trade_id == search.tid)
    if search.num_iid is not None:
        query = query.where(TradeRate.item_id == search.num_iid)
    return await _page(session, query, page)


async def rated_orders(session: AsyncSession, rates: Iterable[TradeRate]) -> dict[int, Order]:
    """The orders the ratings are about, by order id (for the item's title and price)."""
    ids = {r.order_id for r in rates}
    if not ids:
        return {}
    rows = await session.scalars(select(Order).where(Order.id.in_(ids)))
    return {o.id: o for o in rows}
