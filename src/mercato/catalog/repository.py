"""Every catalog query. Seller-facing item queries take the seller's id and filter by it, so
tenancy is enforced here once instead of being remembered by each caller (DESIGN rule 9).
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload
from sqlalchemy.sql import Select

from mercato.catalog.schemas import DELETED, INSTOCK, ONSALE
from mercato.kit.pagination import Page, PageRequest
from mercato.models import Category, Item, ItemProp, Shop, ShopCategory

# Everything an item page or an edit needs, loaded up front: the relationships raise on
# lazy access because lazy loads cannot happen in async code.
ITEM_CHILDREN = (
    selectinload(Item.images),
    selectinload(Item.skus),
    selectinload(Item.prop_values),
    selectinload(Item.seller_cats),
)


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
