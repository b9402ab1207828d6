from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.models import Shop, ShopCategory


async def shop_by_id(session: AsyncSession, shop_id: int) -> Shop | None:
    return await session.get(Shop, shop_id)


async def shop_of_seller(session: AsyncSession, seller_id: int) -> Shop | None:
    result = await session.execute(select(Shop).where(Shop.seller_id == seller_id))
    return result.scalar_one_or_none()


async def shop_categories(session: AsyncSession, shop_id: int) -> list[ShopCategory]:
    result = await session.execute(
        select(ShopCategory)
        .where(ShopCategory.shop_id == shop_id)
        .order_by(ShopCategory.sort_order, ShopCategory.id)
    )
    return list(result.scalars())


async def shop_category(session: AsyncSession, shop_id: int, cid: int) -> ShopCategory | None:
    """A category of this shop only: another shop's id is simply not found."""
    result = await session.execute(
        select(ShopCategory).where(ShopCategory.shop_id == shop_id, ShopCategory.id == cid)
    )
    return result.scalar_one_or_none()
