"""Catalog rows for tests: a small category tree with props, and sellers with shops.

Rows are made directly through the models so that catalog tests do not depend on the
accounts and shops services.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from mercato.catalog.schemas import ItemInput, SkuInput
from mercato.models import Category, ItemProp, PropValue, Shop, ShopCategory, User, UserRole


@dataclass
class CatalogTree:
    """女装 (root) > 连衣裙 (leaf: color+size sale props, brand key prop) and 上衣 (leaf);
    数码 (root) > 手机 (leaf, no props); 旧类目 (a closed leaf)."""

    clothing: Category
    dresses: Category
    tops: Category
    digital: Category
    phones: Category
    closed: Category
    brand: ItemProp  # key, enum, must
    material: ItemProp  # enum, multi
    style_no: ItemProp  # input text
    color: ItemProp  # sale, color
    size: ItemProp  # sale

    def vid(self, prop: ItemProp, name: str) -> int:
        return next(v.id for v in prop.values if v.name == name)

    def combo(self, color: str, size: str, *, descending: bool = False) -> str:
        """SKU properties for a color and size, canonically sorted by pid unless asked."""
        pairs = [
            (self.color.id, self.vid(self.color, color)),
            (self.size.id, self.vid(self.size, size)),
        ]
        return ";".join(f"{pid}:{vid}" for pid, vid in sorted(pairs, reverse=descending))

    def sku(self, color: str, size: str, price: str = "10.00", quantity: int = 5) -> SkuInput:
        """A SKU spelled pid-descending on purpose, to exercise canonical ordering."""
        properties = self.combo(color, size, descending=True)
        return SkuInput(properties=properties, price=price, quantity=quantity)

    def item(self, **overrides: object) -> ItemInput:
        """A valid dress without SKUs; keyword arguments replace fields."""
        fields: dict[str, object] = {
            "title": "夏季新款碎花连衣裙",
            "category_id": self.dresses.id,
            "price": "199.00",
            "quantity": 10,
            "props": {self.brand.id: [self.vid(self.brand, "Acme")]},
        }
        fields.update(overrides)
        return ItemInput.model_validate(fields)


async def make_category(
    session: AsyncSession,
    name: str,
    parent: Category | None = None,
    *,
    status: str = "normal",
    sort_order: int = 0,
) -> Category:
    category = Category(
        name=name,
        parent_id=parent.id if parent else None,
        status=status,
        sort_order=sort_order,
        is_parent=False,
    )
    session.add(category)
    await session.flush()  # the path needs the id
    category.path = f"{parent.path if parent else '/'}{category.id}/"
    if parent is not None:
        parent.is_parent = True
    await session.flush()
    return category


async def make_prop(
    session: AsyncSession, category: Category, name: str, values: list[str], **flags: bool
) -> ItemProp:
    prop = ItemProp(
        category_id=category.id,
        name=name,
        values=[PropValue(name=v, sort_order=i) for i, v in enumerate(values)],
        **flags,
    )
    session.add(prop)
    await session.flush()
    return prop


async def make_catalog(session: AsyncSession) -> CatalogTree:
    clothing = await make_category(session, "女装", sort_order=1)
    dresses = await make_category(session, "连衣裙", clothing, sort_order=2)
    tops = await make_category(session, "上衣", clothing, sort_order=1)
    digital = await make_category(session, "数码", sort_order=2)
    phones = await make_category(session, "手机", digital)
    closed = await make_category(session, "旧类目", clothing, status="deleted")
    return CatalogTree(
        clothing=clothing,
        dresses=dresses,
        tops=tops,
        digital=digital,
        phones=phones,
        closed=closed,
        brand=await make_prop(
            session, dresses, "品牌", ["Acme", "Zeta"], is_key_prop=True, must=True
        ),
        material=await make_prop(session, dresses, "材质", ["棉", "丝", "麻"], multi=True),
        style_no=await make_prop(
            session, dresses, "货号", [], is_enum_prop=False, is_input_prop=True
        ),
        color=await make_prop(
            session, dresses, "颜色", ["红色", "蓝色"], is_sale_prop=True, is_color_prop=True
        ),
        size=await make_prop(session, dresses, "尺码", ["S", "M", "L"], is_sale_prop=True),
    )


async def make_seller(session: AsyncSession, nick: str) -> tuple[User, Shop]:
    user = User(
        nick=nick,
        nick_key=nick.lower(),
        password_hash="not-a-real-hash",
        roles=[UserRole(role="seller")],
    )
    session.add(user)
    await session.flush()
    shop = Shop(seller_id=user.id, title=f"{nick}'s shop")
    session.add(shop)
    await session.flush()
    return user, shop


async def make_shop_category(session: AsyncSession, shop: Shop, name: str) -> ShopCategory:
    category = ShopCategory(shop_id=shop.id, name=name)
    session.add(category)
    await session.flush()
    return category
