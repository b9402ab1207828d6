"""Topic names and message bodies of the trade's events (TOP TMC topics, §11.5)."""

from __future__ import annotations

from typing import Any, Final

from mercato.kit.money import format_fen
from mercato.models import Item, Trade

TRADE_CREATE: Final = "taobao_trade_TradeCreate"
TRADE_BUYER_PAY: Final = "taobao_trade_TradeBuyerPay"
TRADE_SELLER_SHIP: Final = "taobao_trade_TradeSellerShip"
TRADE_SUCCESS: Final = "taobao_trade_TradeSuccess"
TRADE_CLOSE: Final = "taobao_trade_TradeClose"
TRADE_MODIFY_FEE: Final = "taobao_trade_TradeModifyFee"
TRADE_MEMO_MODIFIED: Final = "taobao_trade_TradeMemoModified"
TRADE_ADDRESS_CHANGED: Final = "taobao_trade_TradeLogisticsAddressChanged"
TRADE_CHANGED: Final = "taobao_trade_TradeChanged"
ITEM_STOCK_CHANGED: Final = "taobao_item_ItemStockChanged"


def trade_subject(tid: int) -> str:
    return f"trade:{tid}"


def item_subject(item_id: int) -> str:
    return f"item:{item_id}"


def trade_content(trade: Trade, *, buyer_nick: str, seller_nick: str) -> dict[str, Any]:
    """The body every ``taobao_trade_*`` message carries: ``{tid, oid, seller_nick,
    buyer_nick, payment, status, type}``; ``oid`` is the first order's id."""
    return {
        "tid": trade.id,
        "oid": trade.orders[0].id if trade.orders else None,
        "seller_nick": seller_nick,
        "buyer_nick": buyer_nick,
        "payment": format_fen(trade.payment),
        "status": trade.status,
        "type": trade.type,
    }


def stock_content(
    item: Item, *, nick: str, num: int, sku_id: int | None, sku_num: int | None, increment: int
) -> dict[str, Any]:
    """``taobao_item_ItemStockChanged``: the item's (and SKU's) quantity after the change
    and the change itself (negative when stock was taken)."""
    return {
        "num_iid": item.id,
        "nick": nick,
        "title": item.title,
        "price": format_fen(item.price),
        "num": num,
        "status": item.approve_status,
        "sku_id": sku_id,
        "sku_num": sku_num,
        "changed_fields": "num",
        "increment": increment,
    }
