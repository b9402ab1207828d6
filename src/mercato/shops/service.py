"""Opening and running a shop."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession

from mercato.accounts.service import find_user, grant_role
from mercato.catalog.images import is_image_key
from mercato.kit.errors import NotFound, ValidationFailed
from mercato.models import Role, Shop, ShopCategory, User
from mercato.ratings.service import shop_summary
from mercato.shops import repository as repo
from mercato.shops.schemas import ShopCategoryInput, ShopInput

MAX_SHOP_CATEGORY_DEPTH = 2
MAX_PIC_URL = 300  # the column's width


async def open_shop(session: AsyncSession, seller: User, data: ShopInput) -> Shop:
    """Open the user's one shop; the user becomes a seller."""
    if await repo.shop_of_seller(session, seller.id):
        raise ValidationFailed.one("shop", "one_per_seller", "you already have a shop")
    shop = Shop(
        seller_id=seller.id,
        title=data.title,
        description=data.description,
        bulletin=data.bulletin,
    )
    session.add(shop)
    await grant_role(session, seller, Role.seller)
    await session.flush()
    return shop


async def my_shop(session: AsyncSession, seller: User) -> Shop:
    shop = await repo.shop_of_seller(session, seller.id)
    if shop is None:
        raise NotFound("you have not opened a shop yet", code="no_shop")
    return shop


async def update_shop(
    session: AsyncSession, seller: User, data: ShopInput, logo_key: str | None = None
) -> Shop:
    shop = await my_shop(session, seller)
    shop.title, shop.description, shop.bulletin = data.title, data.description, data.bulletin
    if logo_key:
        shop.logo_key = logo_key
    await session.flush()
    return shop


async def get_shop(session: AsyncSession, shop_id: int) -> Shop:
    shop = await repo.shop_by_id(session, shop_id)
    if shop is None or shop.status != "normal":
        raise NotFound("no such shop")
    return shop


@dataclass
class ShopCategoryNode:
    category: ShopCategory
    children: list[ShopCategoryNode] = field(default_factory=list)


async def shop_category_tree(session: AsyncSession, shop_id: int) -> list[ShopCategoryNode]:
    nodes = {c.id: ShopCategoryNode(c) for c in await repo.shop_categories(session, shop_id)}
    roots: list[ShopCategoryNode] = []
    for node in nodes.values():
        parent = nodes.get(node.category.parent_id or 0)
        (parent.children if parent else roots).append(node)
    return roots


async def add_shop_category(
    session: AsyncSession, seller: User, data: ShopCategoryInput, *, pic_url: str | None = None
) -> ShopCategory:
    """Add a category to the seller's shop tree (two levels, like TOP's seller cats), with an
    optional picture (an http(s) URL or an uploaded image's key)."""
    if pic_url is not None and (len(pic_url) > MAX_PIC_URL or not is_image_key(pic_url)):
        raise ValidationFailed.one("pic_url", "image_url", "not an image URL")
    shop = await my_shop(session, seller)
    if data.parent_id:
        parent = await repo.shop_category(session, shop.id, data.parent_id)
        if parent is None:
            raise ValidationFailed.one("parent_id", "exists", "no such category in your shop")
        if parent.parent_id is not None:
            raise ValidationFailed.one(
                "parent_id", "max_depth", f"categories nest {MAX_SHOP_CATEGORY_DEPTH} levels deep"
            )
    category = ShopCategory(
        shop_id=shop.id,
        parent_id=data.parent_id or None,
        name=data.name,
        pic_url=pic_url,
        sort_order=data.sort_order,
    )
    session.add(category)
    await session.flush()
    return category


async def update_shop_category(
    session: AsyncSession, seller: User, cid: int, data: ShopCategoryInput
) -> ShopCategory:
    shop = await my_shop(session, seller)
    category = await repo.shop_category(session, shop.id, cid)
    if category is None:
        raise NotFound("no such category in your shop")
    category.name, category.sort_order = data.name, data.sort_order
    await session.flush()
    return category


async def delete_shop_category(session: AsyncSession, seller: User, cid: int) -> None:
    shop = await my_shop(session, seller)
    category = await repo.shop_category(session, shop.id, cid)
    if category is None:
        raise NotFound("no such category in your shop")
    await session.delete(category)
    await session.flush()


# ---------------------------------------------------------------- the open API's views


async def seller_shop(session: AsyncSession, seller: User) -> Shop | None:
    """The seller's shop, or None when they have not opened one (``has_shop``)."""
    return await repo.shop_of_seller(session, seller.id)


async def shop_of_nick(session: AsyncSession, nick: str) -> tuple[Shop, User]:
    """The open shop of the seller with this nick, and the seller: what anyone may see.
    An unknown nick, a seller without a shop, a closed shop or a suspended seller is
    ``shop_not_found``."""
    seller = await find_user(session, nick)
    shop = await repo.shop_of_seller(session, seller.id) if seller else None
    if seller is None or shop is None or shop.status != "normal" or seller.status != "normal":
        raise NotFound(f"no shop for the nick {nick!r}", code="shop_not_found")
    return shop, seller


@dataclass(frozen=True)
class SellerCredit:
    """A seller's credit from buyers' ratings, the way TOP counts it: one point per good
    rating, minus one per bad one; the level follows the score (TOP's thresholds)."""

    level: int
    score: int
    total_num: int
    good_num: int


# The lowest score of levels 1, 2, 3, …: hearts, then diamonds, crowns, gold crowns.
CREDIT_LEVELS = (
    4, 11, 41, 91, 151, 251, 501, 1001, 2001, 5001, 10001, 20001, 50001, 100001, 200001,
    500001, 1000001, 2000001, 5000001, 10000001,
)  # fmt: skip


def credit_level(score: int) -> int:
    return sum(1 for floor in CREDIT_LEVELS if score >= floor)


async def seller_credit(session: AsyncSession, shop_id: int) -> SellerCredit:
    summary = await shop_summary(session, shop_id)
    score = summary.good - summary.bad
    return SellerCredit(credit_level(score), score, summary.total, summary.good)
