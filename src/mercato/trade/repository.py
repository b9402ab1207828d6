"""Trade queries. Tenancy lives here: every trade read names the buyer or the seller whose
trade it must be, so another user's trade is simply not found."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ScalarSelect, delete, func, or_, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.catalog.schemas import ONSALE, SKU_NORMAL
from mercato.kit.pagination import Page, PageRequest
from mercato.models import (
    Address,
    CartLine,
    Item,
    ItemProp,
    PropValue,
    Refund,
    Shop,
    Sku,
    Trade,
    User,
)

# ---------------------------------------------------------------- addresses


async def buyer_address(session: AsyncSession, user_id: int, address_id: int) -> Address | None:
    return await session.scalar(
        select(Address).where(Address.id == address_id, Address.user_id == user_id)
    )


async def buyer_addresses(session: AsyncSession, user_id: int) -> list[Address]:
    query = (
        select(Address)
        .where(Address.user_id == user_id)
        .order_by(Address.is_default.desc(), Address.id)
    )
    return list(await session.scalars(query))


async def count_addresses(session: AsyncSession, user_id: int) -> int:
    query = select(func.count()).select_from(Address).where(Address.user_id == user_id)
    return int(await session.scalar(query) or 0)


async def clear_default_address(session: AsyncSession, user_id: int) -> None:
    await session.execute(
        update(Address)
        .where(Address.user_id == user_id, Address.is_default.is_(True))
        .values(is_default=False)
        .execution_options(synchronize_session="fetch")
    )


# ---------------------------------------------------------------- cart


async def cart_lines(session: AsyncSession, user_id: int) -> list[CartLine]:
    query = select(CartLine).where(CartLine.user_id == user_id).order_by(CartLine.id)
    return list(await session.scalars(query))


async def cart_line(
    session: AsyncSession, user_id: int, item_id: int, sku_id: int
) -> CartLine | None:
    return await session.scalar(
        select(CartLine).where(
            CartLine.user_id == user_id, CartLine.item_id == item_id, CartLine.sku_id == sku_id
        )
    )


async def cart_line_by_id(session: AsyncSession, user_id: int, line_id: int) -> CartLine | None:
    return await session.scalar(
        select(CartLine).where(CartLine.id == line_id, CartLine.user_id == user_id)
    )


async def count_cart_lines(session: AsyncSession, user_id: int) -> int:
    query = select(func.count()).select_from(CartLine).where(CartLine.user_id == user_id)
    return int(await session.scalar(query) or 0)


async def remove_cart_lines(
    session: AsyncSession, user_id: int, keys: Iterable[tuple[int, int]]
) -> None:
    pairs = list(keys)
    if not pairs:
        return
    await session.execute(
        delete(CartLine)
        .where(CartLine.user_id == user_id, tuple_(CartLine.item_id, CartLine.sku_id).in_(pairs))
        .execution_options(synchronize_session="fetch")
    )


# ---------------------------------------------------------------- catalog reads


async def items_by_id(session: AsyncSession, ids: Iterable[int]) -> dict[int, Item]:
    wanted = set(ids)
    if not wanted:
        return {}
    rows = await session.scalars(select(Item).where(Item.id.in_(wanted)))
    return {item.id: item for item in rows}


async def skus_by_id(session: AsyncSession, ids: Iterable[int]) -> dict[int, Sku]:
    wanted = set(ids)
    if not wanted:
        return {}
    rows = await session.scalars(select(Sku).where(Sku.id.in_(wanted)))
    return {sku.id: sku for sku in rows}


async def item_ids_with_skus(session: AsyncSession, item_ids: Iterable[int]) -> set[int]:
    """Items among these that have live SKUs (and so must be bought by SKU)."""
    wanted = set(item_ids)
    if not wanted:
        return set()
    rows = await session.scalars(
        select(Sku.item_id).where(Sku.item_id.in_(wanted), Sku.status == SKU_NORMAL).distinct()
    )
    return set(rows)


async def prop_names(
    session: AsyncSession, pids: Iterable[int], vids: Iterable[int]
) -> tuple[dict[int, str], dict[int, str]]:
    """Names of properties and of their values, for ``sku_properties_name``."""
    pid_set, vid_set = set(pids), set(vids)
    props: dict[int, str] = {}
    values: dict[int, str] = {}
    if pid_set:
        for pid, name in await session.execute(
            select(ItemProp.id, ItemProp.name).where(ItemProp.id.in_(pid_set))
        ):
            props[pid] = name
    if vid_set:
        for vid, name in await session.execute(
            select(PropValue.id, PropValue.name).where(PropValue.id.in_(vid_set))
        ):
            values[vid] = name
    return props, values


async def shops_by_id(session: AsyncSession, ids: Iterable[int]) -> dict[int, Shop]:
    wanted = set(ids)
    if not wanted:
        return {}
    rows = await session.scalars(select(Shop).where(Shop.id.in_(wanted)))
    return {shop.id: shop for shop in rows}


# ---------------------------------------------------------------- stock
#
# Stock moves only through these conditional UPDATEs, so it can never go negative whatever
# runs concurrently. Callers take an item before its SKUs and items in id order: the
# catalog also locks an item before its SKUs, so no two writers wait on each other in a
# circle.


async def take_item_stock(session: AsyncSession, item_id: int, n: int) -> tuple[int, int] | None:
    """Take n from an item on sale: its quantity afterwards and the sequence number of the
    stock event this makes, or None when it cannot."""
    result = await session.execute(
        update(Item)
        .where(Item.id == item_id, Item.approve_status == ONSALE, Item.quantity >= n)
        .values(quantity=Item.quantity - n, event_seq=Item.event_seq + 1)
        .returning(Item.quantity, Item.event_seq)
        .execution_options(synchronize_session=False)
    )
    row = result.one_or_none()
    return (row[0], row[1]) if row else None


async def take_sku_stock(session: AsyncSession, item_id: int, sku_id: int, n: int) -> int | None:
    """Take n from a normal SKU of this item; its quantity afterwards, or None."""
    result = await session.execute(
        update(Sku)
        .where(
            Sku.id == sku_id,
            Sku.item_id == item_id,
            Sku.status == SKU_NORMAL,
            Sku.quantity >= n,
        )
        .values(quantity=Sku.quantity - n)
        .returning(Sku.quantity)
        .execution_options(synchronize_session=False)
    )
    return result.scalar_one_or_none()


async def give_item_stock(session: AsyncSession, item_id: int, n: int) -> tuple[int, int]:
    """Give n back: the quantity afterwards and the stock event's sequence number."""
    result = await session.execute(
        update(Item)
        .where(Item.id == item_id)
        .values(quantity=Item.quantity + n, event_seq=Item.event_seq + 1)
        .returning(Item.quantity, Item.event_seq)
        .execution_options(synchronize_session=False)
    )
    quantity, seq = result.one()
    return int(quantity), int(seq)


async def give_sku_stock(session: AsyncSession, sku_id: int, n: int) -> int:
    result = await session.execute(
        update(Sku)
        .where(Sku.id == sku_id)
        .values(quantity=Sku.quantity + n)
        .returning(Sku.quantity)
        .execution_options(synchronize_session=False)
    )
    return int(result.scalar_one())


async def add_sold(session: AsyncSession, item_id: int, n: int) -> None:
    await session.execute(
        update(Item)
        .where(Item.id == item_id)
        .values(sold_quantity=Item.sold_quantity + n)
        .execution_options(synchronize_session=False)
    )


# ---------------------------------------------------------------- trades


async def checkout_trades(session: AsyncSession, buyer_id: int, checkout_key: str) -> list[Trade]:
    query = (
        select(Trade)
        .where(Trade.buyer_id == buyer_id, Trade.checkout_key == checkout_key)
        .order_by(Trade.id)
    )
    return list(await session.scalars(query))


async def buyer_trades_for_update(
    session: AsyncSession, buyer_id: int, tids: Sequence[int]
) -> list[Trade]:
    """The buyer's trades among these, locked, in id order (the lock order)."""
    query = (
        select(Trade)
        .where(Trade.buyer_id == buyer_id, Trade.id.in_(set(tids)))
        .order_by(Trade.id)
        .with_for_update(of=Trade)
        .execution_options(populate_existing=True)
    )
    return list(await session.scalars(query))


async def trades_for_update(session: AsyncSession, tids: Sequence[int]) -> list[Trade]:
    """Trades by id whoever they belong to, locked: for timers and the payment path."""
    query = (
        select(Trade)
        .where(Trade.id.in_(set(tids)))
        .order_by(Trade.id)
        .with_for_update(of=Trade)
        .execution_options(populate_existing=True)
    )
    return list(await session.scalars(query))


async def buyer_trade(
    session: AsyncSession, buyer_id: int, tid: int, *, for_update: bool = False
) -> Trade | None:
    query = select(Trade).where(Trade.id == tid, Trade.buyer_id == buyer_id)
    if for_update:
        query = query.with_for_update(of=Trade).execution_options(populate_existing=True)
    return await session.scalar(query)


async def seller_trade(
    session: AsyncSession, seller_id: int, tid: int, *, for_update: bool = False
) -> Trade | None:
    query = select(Trade).where(Trade.id == tid, Trade.seller_id == seller_id)
    if for_update:
        query = query.with_for_update(of=Trade).execution_options(populate_existing=True)
    return await session.scalar(query)


async def list_trades(
    session: AsyncSession,
    *,
    buyer_id: int | None = None,
    seller_id: int | None = None,
    statuses: Sequence[str] | None,
    page: PageRequest,
) -> Page[Trade]:
    """A buyer's or a seller's trades, newest first. Exactly one of the two is given."""
    if (buyer_id is None) == (seller_id is None):
        raise ValueError("list trades for a buyer or for a seller")
    query = select(Trade)
    if buyer_id is not None:
        query = query.where(Trade.buyer_id == buyer_id)
    else:
        query = query.where(Trade.seller_id == seller_id)
    if statuses:
        query = query.where(Trade.status.in_(list(statuses)))
    total = await session.scalar(select(func.count()).select_from(query.subquery()))
    rows = await session.scalars(
        query.order_by(Trade.created.desc(), Trade.id.desc()).offset(page.offset).limit(page.size)
    )
    return Page(items=list(rows), total=int(total or 0), request=page)


# ---------------------------------------------------------------- refunds


async def refunded_by_order(session: AsyncSession, trade_id: int) -> dict[int, int]:
    """Fen refunded (refunds in SUCCESS) per order of a trade."""
    rows = await session.execute(
        select(Refund.order_id, func.sum(Refund.refund_fee))
        .where(Refund.trade_id == trade_id, Refund.status == "SUCCESS")
        .group_by(Refund.order_id)
    )
    return {int(oid): int(total or 0) for oid, total in rows.all()}


# ---------------------------------------------------------------- open-platform queries

# TOP's ``rate_status`` filter: whether the buyer / the seller has rated (None: either).
RATE_FILTERS: dict[str, tuple[bool | None, bool | None]] = {
    "RATE_UNBUYER": (False, None),
    "RATE_UNSELLER": (None, False),
    "RATE_BUYER_UNSELLER": (True, False),
    "RATE_UNBUYER_SELLER": (False, True),
    "RATE_BUYER_SELLER": (True, True),
}


@dataclass(frozen=True)
class TradeFilter:
    """What a trade search keeps: ``statuses``/``types`` None for any (an empty list keeps
    nothing), the other party's nick (case-insensitive), a ``RATE_FILTERS`` key, inclusive
    time ranges, and the sort column (newest first)."""

    statuses: Sequence[str] | None = None
    types: Sequence[str] | None = None
    buyer_nick: str | None = None
    seller_nick: str | None = None
    rate_status: str | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None
    modified_from: datetime | None = None
    modified_to: datetime | None = None
    order_by: str = "created"  # or "modified"


def _user_ids_by_nick(nick: str) -> ScalarSelect[int]:
    return select(User.id).where(User.nick_key == nick.strip().lower()).scalar_subquery()


async def search_trades(
    session: AsyncSession,
    *,
    buyer_id: int | None = None,
    seller_id: int | None = None,
    where: TradeFilter,
    page: PageRequest,
) -> Page[Trade]:
    """A buyer's or a seller's trades (exactly one of the two) matching ``where``, newest
    first by ``where.order_by``, with the total."""
    if (buyer_id is None) == (seller_id is None):
        raise ValueError("search trades for a buyer or for a seller")
    query = select(Trade)
    if buyer_id is not None:
        query = query.where(Trade.buyer_id == buyer_id)
    else:
        query = query.where(Trade.seller_id == seller_id)
    if where.statuses is not None:
        query = query.where(Trade.status.in_(list(where.statuses)))
    if where.types is not None:
        query = query.where(Trade.type.in_(list(where.types)))
    if where.buyer_nick is not None:
        query = query.where(Trade.buyer_id == _user_ids_by_nick(where.buyer_nick))
    if where.seller_nick is not None:
        query = query.where(Trade.seller_id == _user_ids_by_nick(where.seller_nick))
    if where.rate_status is not None:
        buyer_rated, seller_rated = RATE_FILTERS[where.rate_status]
        if buyer_rated is not None:
            query = query.where(Trade.buyer_rate.is_(buyer_rated))
        if seller_rated is not None:
            query = query.where(Trade.seller_rate.is_(seller_rated))
    if where.created_from is not None:
        query = query.where(Trade.created >= where.created_from)
    if where.created_to is not None:
        query = query.where(Trade.created <= where.created_to)
    if where.modified_from is not None:
        query = query.where(Trade.modified >= where.modified_from)
    if where.modified_to is not None:
        query = query.where(Trade.modified <= where.modified_to)
    column = Trade.modified if where.order_by == "modified" else Trade.created
    total = await session.scalar(select(func.count()).select_from(query.subquery()))
    rows = await session.scalars(
        query.order_by(column.desc(), Trade.id.desc()).offset(page.offset).limit(page.size)
    )
    return Page(items=list(rows), total=int(total or 0), request=page)


async def party_trade(session: AsyncSession, user_id: int, tid: int) -> Trade | None:
    """A trade the user bought or sold; None for anyone else's."""
    return await session.scalar(
        select(Trade).where(
            Trade.id == tid, or_(Trade.buyer_id == user_id, Trade.seller_id == user_id)
        )
    )
