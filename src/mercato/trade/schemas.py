"""Inputs and outputs of the trade service, and the trade statuses (TOP's spelling)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final, NamedTuple

from pydantic import BaseModel

# Trade and order statuses, as TOP names them.
WAIT_BUYER_PAY: Final = "WAIT_BUYER_PAY"
WAIT_SELLER_SEND_GOODS: Final = "WAIT_SELLER_SEND_GOODS"  # paid
WAIT_BUYER_CONFIRM_GOODS: Final = "WAIT_BUYER_CONFIRM_GOODS"  # shipped
TRADE_FINISHED: Final = "TRADE_FINISHED"
TRADE_CLOSED: Final = "TRADE_CLOSED"  # refunded after payment
TRADE_CLOSED_BY_TAOBAO: Final = "TRADE_CLOSED_BY_TAOBAO"  # closed before payment

STATUSES: Final = frozenset(
    {
        WAIT_BUYER_PAY,
        WAIT_SELLER_SEND_GOODS,
        WAIT_BUYER_CONFIRM_GOODS,
        TRADE_FINISHED,
        TRADE_CLOSED,
        TRADE_CLOSED_BY_TAOBAO,
    }
)


class AddressInput(BaseModel):
    """An address book entry as the buyer types it; the service checks every rule."""

    name: str
    mobile: str
    state: str
    city: str
    district: str = ""
    address: str
    zip: str = ""
    is_default: bool = False


class CheckoutLine(NamedTuple):
    """One line to buy: an item, its SKU (0 for an item without SKUs) and a quantity."""

    item_id: int
    sku_id: int
    quantity: int


@dataclass
class CartLineView:
    """A cart line with the item's current title, price and stock. ``problem`` says why
    the line cannot be bought now (None when it can)."""

    line_id: int
    item_id: int
    sku_id: int
    quantity: int
    title: str
    pic_url: str | None
    sku_properties_name: str
    price: int  # fen, current
    stock: int  # current quantity of the SKU (or of the item without SKUs)
    problem: str | None = None  # not_on_sale, sku_mismatch, out_of_stock

    @property
    def buyable(self) -> bool:
        return self.problem is None

    @property
    def total_fee(self) -> int:
        return self.price * self.quantity


@dataclass
class CartShop:
    shop_id: int
    shop_title: str
    seller_id: int
    lines: list[CartLineView] = field(default_factory=list)

    @property
    def total_fee(self) -> int:
        """What the buyable lines cost now."""
        return sum(line.total_fee for line in self.lines if line.buyable)


@dataclass
class CartView:
    shops: list[CartShop]

    @property
    def total_fee(self) -> int:
        return sum(shop.total_fee for shop in self.shops)

    @property
    def count(self) -> int:
        return sum(len(shop.lines) for shop in self.shops)
