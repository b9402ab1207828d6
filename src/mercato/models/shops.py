from __future__ import annotations

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from mercato.models.base import Base, BigId, Timestamps


class Shop(Timestamps, Base):
    __tablename__ = "shops"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    seller_id: Mapped[int] = mapped_column(ForeignKey("users.id"), unique=True)
    title: Mapped[str] = mapped_column(String(60))
    description: Mapped[str] = mapped_column(Text, default="")
    bulletin: Mapped[str] = mapped_column(Text, default="")
    logo_key: Mapped[str | None] = mapped_column(String(300))
    status: Mapped[str] = mapped_column(String(16), default="normal")


class ShopCategory(Timestamps, Base):
    """A seller-defined category in the shop (TOP's SellerCat); a tree ordered by sort_order."""

    __tablename__ = "shop_categories"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"), index=True)
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("shop_categories.id", ondelete="CASCADE")
    )
    name: Mapped[str] = mapped_column(String(40))
    pic_url: Mapped[str | None] = mapped_column(String(300))
    sort_order: Mapped[int] = mapped_column(Integer, default=0)
