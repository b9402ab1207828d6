"""The permission-package catalogue: the groups of API methods an app can hold.

This table is the one place a package is named. Each method of the gateway's registry names
the package it needs from here, the developer console lists these, and an app's
``AppPackage`` rows hold only these names. Adding a package is adding a row here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType


@dataclass(frozen=True)
class Package:
    """One permission package: its stable name and how people see it."""

    name: str
    title_zh: str
    title_en: str
    description: str

    @property
    def title(self) -> str:
        """The bilingual label the pages show, "中文 English" like the rest of the site."""
        return f"{self.title_zh} {self.title_en}"


_CATALOGUE = (
    Package("items-read", "商品读取", "Items (read)", "Read items, SKUs and categories."),
    Package(
        "items-write",
        "商品写入",
        "Items (write)",
        "List, edit, delist and delete items, SKUs, stock and images.",
    ),
    Package(
        "trades-read", "交易读取", "Trades (read)", "Read sold and bought trades and their ratings."
    ),
    Package(
        "trades-write",
        "交易写入",
        "Trades (write)",
        "Memos, closing, the address, receipt time; adding ratings.",
    ),
    Package("logistics", "物流", "Logistics", "Carriers, shipping a trade, tracking."),
    Package("refunds", "退款", "Refunds", "Read refunds, agree or refuse them."),
    Package("messages", "消息", "Messages", "Subscribe to and receive platform messages."),
    Package("users", "用户", "Users", "The authorizing buyer's or seller's own profile."),
    Package("shops", "店铺", "Shops", "Shop details, settings and the seller's categories."),
)

# name -> Package, in catalogue order; read-only so nothing can add a package at run time.
PACKAGES: Mapping[str, Package] = MappingProxyType({p.name: p for p in _CATALOGUE})
ALL_PACKAGES: tuple[str, ...] = tuple(PACKAGES)


def package(name: str) -> Package:
    """The package named ``name``; a KeyError for a name the catalogue does not hold (a
    method declaring an unknown package is a programming error, caught at import time)."""
    return PACKAGES[name]


def is_package(name: str) -> bool:
    return name in PACKAGES
