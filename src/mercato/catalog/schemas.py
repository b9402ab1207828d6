"""Inputs and outputs of the catalog service.

Inputs carry what a seller types (prices as yuan strings); the service turns them into
model rows only after every rule has passed. Outputs are plain dataclasses over model rows,
loaded completely, so that templates and adapters never trigger a lazy load.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final, Literal, NamedTuple

from pydantic import BaseModel, Field

from mercato.models import Category, Item, ItemImage, Shop, Sku

ONSALE: Final = "onsale"
INSTOCK: Final = "instock"
# Items are never hard-deleted: trades keep pointing at them and their SKUs.
DELETED: Final = "deleted"

SKU_NORMAL: Final = "normal"
SKU_DELETED: Final = "delete"  # TOP's spelling


class SkuInput(BaseModel):
    properties: str = Field(description='Sale property values, "pid:vid;pid:vid"')
    price: str = Field(description='Yuan, e.g. "12.30"')
    quantity: int
    outer_id: str | None = None
    barcode: str | None = None


class ItemInput(BaseModel):
    title: str
    category_id: int
    price: str | None = Field(default=None, description="Yuan; derived from SKUs when given")
    quantity: int | None = Field(default=None, description="Derived from SKUs when given")
    description: str = Field(default="", description="HTML; sanitized before storing")
    props: dict[int, list[int]] = Field(
        default_factory=dict, description="Enumerated key/other props: pid -> vids"
    )
    input_props: dict[int, str] = Field(default_factory=dict, description="pid -> free text")
    location_state: str = ""
    location_city: str = ""
    outer_id: str | None = None
    approve_status: Literal["onsale", "instock"] = INSTOCK
    seller_cat_ids: list[int] = Field(default_factory=list)
    skus: list[SkuInput] = Field(default_factory=list)
    image_keys: list[str] = Field(
        default_factory=list, description="Storage keys in order; the first is the major image"
    )


class PropLine(NamedTuple):
    """One property of an item with names resolved, for display: ("品牌", ["Acme"])."""

    name: str
    values: list[str]


@dataclass(frozen=True)
class SaleValue:
    vid: int
    name: str


@dataclass(frozen=True)
class SaleProp:
    """A sale property and the values that the item's SKUs use, for a SKU selector."""

    pid: int
    name: str
    is_color: bool
    values: list[SaleValue]


@dataclass(frozen=True)
class ItemDetail:
    item: Item
    category: Category
    shop: Shop
    images: list[ItemImage]
    skus: list[Sku]  # status normal only
    props: list[PropLine]
    sale_props: list[SaleProp]
    # The raw choices, so that an edit form can be filled back in.
    prop_vids: dict[int, list[int]] = field(default_factory=dict)
    input_props: dict[int, str] = field(default_factory=dict)
    seller_cat_ids: list[int] = field(default_factory=list)

    def sku_by_properties(self) -> dict[str, Sku]:
        return {sku.properties: sku for sku in self.skus}


@dataclass
class CategoryNode:
    category: Category
    children: list[CategoryNode] = field(default_factory=list)
