"""All SQLAlchemy models, one module per aggregate, imported here so metadata is complete."""

from mercato.models.accounts import Role, User, UserRole, WebSession
from mercato.models.base import Base
from mercato.models.catalog import (
    Category,
    Item,
    ItemImage,
    ItemProp,
    ItemPropValue,
    ItemSellerCat,
    PropValue,
    Sku,
)
from mercato.models.shops import Shop, ShopCategory

__all__ = [
    "Base",
    "Category",
    "Item",
    "ItemImage",
    "ItemProp",
    "ItemPropValue",
    "ItemSellerCat",
    "PropValue",
    "Role",
    "Shop",
    "ShopCategory",
    "Sku",
    "User",
    "UserRole",
    "WebSession",
]
