"""Every catalog query. Seller-facing item queries take the seller's id and filter by it, so
tenancy is enforced here once instead of being remembered by each caller (DESIGN rule 9).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import defer, raiseload, selectinload
from sqlalchemy.sql import Select

from mercato.catalog.schemas import DELETED, INSTOCK, ONSALE
from mercato.kit.pagination import Page, PageRequest
from mercato.kit.searchtext import needle
from mercato.models import Category, Item, ItemProp, ItemSellerCat, Shop, ShopCategory

# Everything an item page or an edit needs, loaded up front: the relationships raise on
# lazy access because lazy loads cannot happen in async code.
ITEM_PARTS = {
    "images": Item.images,
    "skus": Item.skus,
    "prop_values": Item.prop_values,
    "seller_cats": Item.seller_cats,
}
ALL_ITEM_PARTS = frozenset(ITEM_PARTS)


def item_children(parts: frozenset[str] = ALL_ITEM_PARTS) -> tuple[Any, ...]:
    """Loader options for an item's children: those in ``parts`` loaded, the others not
    loaded at all (reading one raises; ``loaded_children`` tells)."""
    return tuple(
        selectinload(child) if name in parts else raiseload(child)
        for name, child in ITEM_PARTS.items()
    )


ITEM_CHILDREN = item_children()


async def shop_of_seller(session: AsyncSession, seller_id: int) -> Shop | None:
    return await session.scalar(select(Shop).where(Shop.seller_id == seller_id))


async def get_shop(session: AsyncSession, shop_id: int) -> Shop | None:
    return await session.get(Shop, shop_id)


async def shop_category_ids(session: AsyncSession, shop_id: int, ids: Iterable[int]) -> set[int]:
    """Those of ``ids`` that are categories of this shop."""
    wanted = set(ids)
    if not wanted:
        return set()
    rows = await session.scalars(
        select(ShopCategory.id).where(ShopCategory.shop_id == shop_id, ShopCategory.id.in_(wanted))
    )
    return set(rows)


async def get_category(session: AsyncSession, cid: int) -> Category | None:
    return await session.get(Category, cid)


async def normal_categories(session: AsyncSession) -> list[Category]:
    query = (
        select(Category)
        .where(Category.status == "normal")
        .order_by(Category.sort_order, Category.id)
    )
    return list(await session.scalars(query))


async def leaf_categories(session: AsyncSession) -> list[Category]:
    query = (
        select(Category)
        .where(Category.status == "normal", Category.is_parent.is_(False))
        .order_by(Category.path, Category.sort_order, Category.id)
    )
    return list(await session.scalars(query))


async def category_props(session: AsyncSession, cid: int) -> list[ItemProp]:
    query = (
        select(ItemProp)
        .where(ItemProp.category_id == cid)
        .options(selectinload(ItemProp.values))
        .order_by(ItemProp.sort_order, ItemProp.id)
    )
    return list(await session.scalars(query))


async def get_item(session: AsyncSession, item_id: int) -> Item | None:
    """Any live item with its children; visibility is the caller's decision."""
    query = (
        select(Item)
        .where(Item.id == item_id, Item.approve_status != DELETED)
        .options(*ITEM_CHILDREN)
    )
    return await session.scalar(query)


async def get_seller_item(
    session: AsyncSession, seller_id: int, item_id: int, *, for_update: bool = False
) -> Item | None:
    """The seller's own live item with its children, or None (also for someone else's)."""
    query = (
        select(Item)
        .where(Item.id == item_id, Item.seller_id == seller_id, Item.approve_status != DELETED)
        .options(*ITEM_CHILDREN)
    )
    if for_update:
        query = query.with_for_update(of=Item)
    return await session.scalar(query)


def _seller_items_query(seller_id: int, approve_status: str | None) -> Select[Item]:
    statuses = [approve_status] if approve_status else [ONSALE, INSTOCK]
    return select(Item).where(Item.seller_id == seller_id, Item.approve_status.in_(statuses))


async def list_seller_items(
    session: AsyncSession, seller_id: int, approve_status: str | None, page: PageRequest
) -> Page[Item]:
    query = _seller_items_query(seller_id, approve_status)
    total = await session.scalar(select(func.count()).select_from(query.subquery()))
    rows = await session.scalars(
        query.order_by(Item.modified_at.desc(), Item.id.desc()).offset(page.offset).limit(page.size)
    )
    return Page(items=list(rows), total=total or 0, request=page)


@dataclass(frozen=True)
class SellerItemFilter:
    """The open API's filters over a seller's own items (taobao.items.onsale.get and
    taobao.items.inventory.get). ``order_by`` is an Item column name."""

    approve_status: str
    terms: tuple[str, ...] = ()  # title terms, all required
    category_id: int | None = None  # the whole subtree
    seller_cat_ids: tuple[int, ...] = ()  # in any of these shop categories
    start_modified: datetime | None = None
    end_modified: datetime | None = None
    sold_out: bool | None = None  # quantity is / is not zero
    ever_listed: bool | None = None  # has / has never been on sale
    order_by: str = "list_time"
    descending: bool = True


SELLER_ITEM_ORDER = ("list_time", "delist_time", "quantity", "modified_at", "sold_quantity")


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _seller_item_conditions(seller_id: int, f: SellerItemFilter) -> list[ColumnElement[bool]]:
    conditions = [Item.seller_id == seller_id, Item.approve_status == f.approve_status]
    for term in f.terms:
        pattern = f"%{_escape_like(needle(term))}%"
        conditions.append(Item.search_text.like(pattern, escape="\\"))
    if f.category_id is not None:
        path = select(Category.path).where(Category.id == f.category_id).scalar_subquery()
        subtree = select(Category.id).where(Category.path.startswith(path))
        conditions.append(Item.category_id.in_(subtree))
    if f.seller_cat_ids:
        linked = select(ItemSellerCat.item_id).where(
            ItemSellerCat.shop_category_id.in_(f.seller_cat_ids)
        )
        conditions.append(Item.id.in_(linked))
    if f.start_modified is not None:
        conditions.append(Item.modified_at >= f.start_modified)
    if f.end_modified is not None:
        conditions.append(Item.modified_at <= f.end_modified)
    if f.sold_out is not None:
        conditions.append(Item.quantity == 0 if f.sold_out else Item.quantity > 0)
    if f.ever_listed is not None:
        listed = Item.list_time.is_not(None)
        conditions.append(listed if f.ever_listed else Item.list_time.is_(None))
    return conditions


async def filter_seller_items(
    session: AsyncSession, seller_id: int, f: SellerItemFilter, page: PageRequest
) -> Page[Item]:
    """One page of the seller's own items matching ``f``, with the total; the items come
    with their shop categories and props loaded, without images, SKUs or ``description``
    (lists never show it; reading it raises instead of lazily loading)."""
    if f.order_by not in SELLER_ITEM_ORDER:
        raise ValueError(f"cannot order items by {f.order_by}")
    conditions = _seller_item_conditions(seller_id, f)
    total = await session.scalar(select(func.count()).select_from(Item).where(*conditions))
    column = getattr(Item, f.order_by)
    key = column.desc().nulls_last() if f.descending else column.asc().nulls_last()
    rows = await session.scalars(
        select(Item)
        .where(*conditions)
        .options(
            selectinload(Item.seller_cats),
            selectinload(Item.prop_values),
            defer(Item.description, raiseload=True),
            defer(Item.search_text),
        )
        .order_by(key, Item.id.desc())
        .offset(page.offset)
        .limit(page.size)
    )
    return Page(items=list(rows), total=total or 0, request=page)


async def seller_items_by_ids(
    session: AsyncSession,
    seller_id: int,
    item_ids: Iterable[int],
    parts: frozenset[str] = ALL_ITEM_PARTS,
) -> list[Item]:
    """The seller's own live items among ``item_ids``, with the children in ``parts``, no
    row locks; someone else's ids are left out."""
    wanted = set(item_ids)
    if not wanted:
        return []
    rows = await session.scalars(
        select(Item)
        .where(Item.id.in_(wanted), Item.seller_id == seller_id, Item.approve_status != DELETED)
        .options(*item_children(parts))
    )
    return list(rows)
