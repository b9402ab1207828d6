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
from mercato.models.logistics import Carrier, Shipment, TrackingEvent
from mercato.models.platform import (
    AccessToken,
    ApiCall,
    App,
    AppPackage,
    Authorization,
    OAuthCode,
)
from mercato.models.ratings import TradeRate
from mercato.models.refunds import Refund
from mercato.models.sandbox import SandboxClock
from mercato.models.shops import Shop, ShopCategory
from mercato.models.trade import Address, CartLine, Order, Trade

__all__ = [
    "AccessToken",
    "Address",
    "ApiCall",
    "App",
    "AppPackage",
    "Authorization",
    "Base",
    "Carrier",
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
    "OAuthCode",
    "Order",
    "OutboxEvent",
    "Payment",
    "PropValue",
    "Refund",
    "Role",
    "SandboxClock",
    "Shipment",
    "Shop",
    "ShopCategory",
    "Sku",
    "TrackingEvent",
    "Trade",
    "TradeRate",
    "User",
    "UserRole",
    "WebSession",
]
