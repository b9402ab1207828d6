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
from mercato.models.events import Job, OutboxEvent
from mercato.models.ledger import LedgerAccount, LedgerEntry, LedgerTransaction, Payment
from mercato.models.shops import Shop, ShopCategory
from mercato.models.trade import Address, CartLine, Order, Trade

__all__ = [
    "Address",
    "Base",
    "CartLine",
    "Category",
    "Item",
    "ItemImage",
    "ItemProp",
    "ItemPropValue",
    "ItemSellerCat",
    "Job",
    "LedgerAccount",
    "LedgerEntry",
    "LedgerTransaction",
    "Order",
    "OutboxEvent",
    "Payment",
    "PropValue",
    "Role",
    "Shop",
    "ShopCategory",
    "Sku",
    "Trade",
    "User",
    "UserRole",
    "WebSession",
]
