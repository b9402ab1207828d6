from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from mercato.kit.searchtext import search_text
from mercato.models.base import Base, BigId, Timestamps, UTCDateTime


class Category(Base):
    """A platform category (TOP's ItemCat). Only leaf categories hold items."""

    __tablename__ = "categories"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("categories.id"), index=True)
    name: Mapped[str] = mapped_column(String(60))
    name_en: Mapped[str] = mapped_column(String(60), default="")
    is_parent: Mapped[bool] = mapped_column(Boolean, default=False)
    sort_order: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(16), default="normal")
    # Materialised path "/1/5/23/" so that a subtree filter is one indexed prefix match.
    path: Mapped[str] = mapped_column(String(255), default="/", index=True)
    # Platform commission in basis points (500 = 5 %), an integer so that it is exact on
    # every backend; NULL inherits the nearest ancestor's rate, and above the root the
    # MERCATO_COMMISSION_RATE setting applies.
    commission_rate: Mapped[int | None] = mapped_column(Integer)


class ItemProp(Base):
    """A property of a leaf category: key, sale (one SKU per combination), color, input."""

    __tablename__ = "item_props"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    category_id: Mapped[int] = mapped_column(ForeignKey("categories.id"), index=True)
    name: Mapped[str] = mapped_column(String(60))
    name_en: Mapped[str] = mapped_column(String(60), default="")
    is_key_prop: Mapped[bool] = mapped_column(Boolean, default=False)
    is_sale_prop: Mapped[bool] = mapped_column(Boolean, default=False)
    is_color_prop: Mapped[bool] = mapped_column(Boolean, default=False)
    is_enum_prop: Mapped[bool] = mapped_column(Boolean, default=True)
    is_input_prop: Mapped[bool] = mapped_column(Boolean, default=False)
    must: Mapped[bool] = mapped_column(Boolean, default=False)
    multi: Mapped[bool] = mapped_column(Boolean, default=False)
    sort_order: Mapped[int] = mapped_column(Integer, default=0)

    values: Mapped[list[PropValue]] = relationship(
        lazy="selectin", order_by="PropValue.sort_order", cascade="all, delete-orphan"
    )


class PropValue(Base):
    __tablename__ = "prop_values"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    prop_id: Mapped[int] = mapped_column(
        ForeignKey("item_props.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(60))
    name_en: Mapped[str] = mapped_column(String(60), default="")
    sort_order: Mapped[int] = mapped_column(Integer, default=0)


class Item(Timestamps, Base):
    """An item (TOP's Item, ``num_iid``). With SKUs, price is the lowest SKU price and
    quantity the sum of SKU quantities; the service keeps both in step."""

    __tablename__ = "items"
    __table_args__ = (
        Index("ix_items_shop_status", "shop_id", "approve_status"),
        Index("ix_items_category_status", "category_id", "approve_status"),
        Index("ix_items_status_list_time", "approve_status", "list_time"),
        Index("ix_items_status_price", "approve_status", "price"),
        Index("ix_items_status_sold", "approve_status", "sold_quantity"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id"))
    seller_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    category_id: Mapped[int] = mapped_column(ForeignKey("categories.id"))
    title: Mapped[str] = mapped_column(String(60))
    price: Mapped[int] = mapped_column(BigInteger)  # fen
    quantity: Mapped[int] = mapped_column(Integer, default=0)
    description: Mapped[str] = mapped_column(Text, default="")
    approve_status: Mapped[str] = mapped_column(String(8), default="instock")
    list_time: Mapped[datetime | None] = mapped_column(UTCDateTime)
    delist_time: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sold_quantity: Mapped[int] = mapped_column(Integer, default=0)
    outer_id: Mapped[str | None] = mapped_column(String(64))
    location_state: Mapped[str] = mapped_column(String(32), default="")
    location_city: Mapped[str] = mapped_column(String(32), default="")
    pic_url: Mapped[str | None] = mapped_column(String(300))  # the major image, for lists
    # Sequence of the last event recorded about this item (stock changes, …): 1, 2, 3, …
    event_seq: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # What the title search indexes (mercato.kit.searchtext); kept in step with the title.
    search_text: Mapped[str] = mapped_column(Text, default="")

    images: Mapped[list[ItemImage]] = relationship(
        lazy="raise", order_by="ItemImage.position", cascade="all, delete-orphan"
    )
    skus: Mapped[list[Sku]] = relationship(
        lazy="raise", order_by="Sku.id", cascade="all, delete-orphan"
    )
    prop_values: Mapped[list[ItemPropValue]] = relationship(
        lazy="raise", cascade="all, delete-orphan"
    )
    seller_cats: Mapped[list[ItemSellerCat]] = relationship(
        lazy="raise", cascade="all, delete-orphan"
    )

    @validates("title")
    def _index_title(self, _key: str, title: str) -> str:
        self.search_text = search_text(title)
        return title


class ItemImage(Base):
    """An item image; position 0 is the major one."""

    __tablename__ = "item_images"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"), index=True)
    url: Mapped[str] = mapped_column(String(300))
    position: Mapped[int] = mapped_column(Integer, default=0)


class ItemPropValue(Base):
    """One property value of an item: an enumerated value (``value_id``) or input text."""

    __tablename__ = "item_prop_values"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"), index=True)
    prop_id: Mapped[int] = mapped_column(ForeignKey("item_props.id"))
    value_id: Mapped[int | None] = mapped_column(ForeignKey("prop_values.id"))
    text: Mapped[str | None] = mapped_column(String(200))


class ItemSellerCat(Base):
    __tablename__ = "item_seller_cats"

    item_id: Mapped[int] = mapped_column(
        ForeignKey("items.id", ondelete="CASCADE"), primary_key=True
    )
    shop_category_id: Mapped[int] = mapped_column(
        ForeignKey("shop_categories.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class Sku(Timestamps, Base):
    """One combination of sale-property values; ``properties`` is ``pid:vid;pid:vid``
    ordered by pid, so that one combination has exactly one spelling."""

    __tablename__ = "skus"
    __table_args__ = (UniqueConstraint("item_id", "properties"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"), index=True)
    properties: Mapped[str] = mapped_column(String(255))
    price: Mapped[int] = mapped_column(BigInteger)
    quantity: Mapped[int] = mapped_column(Integer, default=0)
    outer_id: Mapped[str | None] = mapped_column(String(64))
    barcode: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(8), default="normal")
