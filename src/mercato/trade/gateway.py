"""TOP methods of the trade domain (registered with mercato.gateway.registry).

Thin adapters (DESIGN.md rule 3): each method parses TOP's parameters, calls one trade
service function and maps the result to TOP's Trade / Order shapes (TOP-PROTOCOL.md §9.1,
§9.2). ``trade_shape`` and ``order_shape`` are the one place those shapes are built; other
domains import them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from mercato.accounts import service as accounts
from mercato.gateway import envelope, registry
from mercato.gateway.context import CallContext
from mercato.gateway.envelope import Fen, FieldSelection
from mercato.gateway.params import comma_list, top_time
from mercato.gateway.registry import TopParams
from mercato.kit.errors import ValidationFailed
from mercato.kit.pagination import Page, PageRequest
from mercato.models import Order, Trade, User
from mercato.trade import service
from mercato.trade.schemas import TRADE_FINISHED

TRADE_LISTS = {"trades": "trade", "orders": "order"}
MAX_TRADES_PAGE = 100

# --- shapes --------------------------------------------------------------------------


def _text(value: str | None) -> str | None:
    """Empty text is absent in TOP's responses."""
    return value or None


def order_shape(order: Order) -> dict[str, Any]:
    """TOP's Order (§9.2): ids as numbers with ``oid_str``, ``sku_id`` as a string, money
    as ``Fen``; ``refund_status`` is NO_REFUND when there is none."""
    shape: dict[str, Any] = {
        "oid": order.id,
        "num_iid": order.item_id,
        "sku_id": str(order.sku_id) if order.sku_id else None,
        "outer_iid": _text(order.outer_iid),
        "outer_sku_id": _text(order.outer_sku_id),
        "title": order.title,
        "pic_path": _text(order.pic_path),
        "price": Fen(order.price),
        "num": order.num,
        "total_fee": Fen(order.total_fee),
        "payment": Fen(order.payment),
        "discount_fee": Fen(order.discount_fee),
        "adjust_fee": Fen(order.adjust_fee),
        "sku_properties_name": _text(order.sku_properties_name),
        "status": order.status,
        "refund_status": order.refund_status or "NO_REFUND",
        "refund_id": order.refund_id,
        "logistics_company": _text(order.logistics_company),
        "invoice_no": _text(order.invoice_no),
        "consign_time": order.consign_time,
        "end_time": order.end_time,
        "cid": order.category_id,
    }
    return envelope.with_str_twins(shape, "oid")


def trade_shape(
    trade: Trade,
    *,
    buyer_nick: str,
    seller_nick: str,
    shop_title: str,
    for_buyer: bool = False,
) -> dict[str, Any]:
    """TOP's Trade (§9.1) with its ``orders``. A single-order trade also carries the
    order's ``num_iid``, ``num``, ``price`` and ``pic_path``. ``commission_fee`` is set
    once the trade finished. ``for_buyer`` leaves out the seller's private memo and flag."""
    orders = [order_shape(order) for order in trade.orders]
    shape: dict[str, Any] = {
        "tid": trade.id,
        "type": trade.type,
        "status": trade.status,
        "created": trade.created,
        "modified": trade.modified,
        "pay_time": trade.pay_time,
        "consign_time": trade.consign_time,
        "end_time": trade.end_time,
        "timeout_action_time": trade.timeout_action_time,
        "seller_nick": seller_nick,
        "buyer_nick": buyer_nick,
        "title": shop_title,
        "payment": Fen(trade.payment),
        "total_fee": Fen(trade.total_fee),
        "post_fee": Fen(trade.post_fee),
        "discount_fee": Fen(trade.discount_fee),
        "adjust_fee": Fen(trade.adjust_fee),
        "commission_fee": Fen(trade.commission_fee) if trade.status == TRADE_FINISHED else None,
        "receiver_name": trade.receiver_name,
        "receiver_state": trade.receiver_state,
        "receiver_city": trade.receiver_city,
        "receiver_district": _text(trade.receiver_district),
        "receiver_address": trade.receiver_address,
        "receiver_zip": _text(trade.receiver_zip),
        "receiver_mobile": trade.receiver_mobile,
        "buyer_message": _text(trade.buyer_message),
        "has_buyer_message": bool(trade.buyer_message),
        "seller_memo": None if for_buyer else _text(trade.seller_memo),
        "seller_flag": None if for_buyer else trade.seller_flag,
        "buyer_rate": trade.buyer_rate,
        "seller_rate": trade.seller_rate,
        "orders": orders,
    }
    if len(orders) == 1:
        (only,) = orders
        shape.update(
            num_iid=only["num_iid"], num=only["num"], price=only["price"], pic_path=only["pic_path"]
        )
    return envelope.with_str_twins(shape, "tid")


async def trade_shapes(
    session: AsyncSession, trades: Sequence[Trade], *, viewer: User | None = None
) -> list[dict[str, Any]]:
    """``trade_shape`` for each trade, with the nicks and shop titles looked up once.
    When ``viewer`` is a trade's buyer, the seller's memo stays out."""
    nicks = await accounts.nicks(
        session, {t.buyer_id for t in trades} | {t.seller_id for t in trades}
    )
    titles = await service.shop_titles(session, {t.shop_id for t in trades})
    return [
        trade_shape(
            t,
            buyer_nick=nicks.get(t.buyer_id, ""),
            seller_nick=nicks.get(t.seller_id, ""),
            shop_title=titles.get(t.shop_id, ""),
            for_buyer=viewer is not None and viewer.id == t.buyer_id,
        )
        for t in trades
    ]


def select(selection: FieldSelection, shape: dict[str, Any]) -> dict[str, Any]:
    """The requested fields of a trade shape; a selected ``tid``/``oid`` brings its
    ``*_str`` twin (TOP-PROTOCOL.md §5.3)."""
    out = selection.apply(shape)
    envelope.with_str_twins(out, "tid")
    for order in out.get("orders") or ():
        envelope.with_str_twins(order, "oid")
    return out


# --- parameters ----------------------------------------------------------------------


class _TradeListParams(TopParams):
    fields: str
    status: str | None = None
    type: str | None = None
    rate_status: str | None = None
    page_no: int | None = None
    page_size: int | None = None
    use_has_next: bool = False


class SoldGetParams(_TradeListParams):
    start_created: str | None = None
    end_created: str | None = None
    buyer_nick: str | None = None


class SoldIncrementParams(_TradeListParams):
    start_modified: str
    end_modified: str
    buyer_nick: str | None = None


class BoughtGetParams(_TradeListParams):
    start_created: str | None = None
    end_created: str | None = None
    seller_nick: str | None = None


def _page(params: _TradeListParams) -> tuple[envelope.Paging, PageRequest]:
    paging = envelope.paging(
        params.page_no,
        params.page_size,
        max_page_size=MAX_TRADES_PAGE,
        use_has_next=params.use_has_next,
    )
    return paging, PageRequest(paging.page_no, paging.page_size)


async def _listing(
    ctx: CallContext, page: Page[Trade], selection: FieldSelection, paging: envelope.Paging
) -> dict[str, Any]:
    shapes = await trade_shapes(ctx.db_session, page.items, viewer=ctx.user)
    out: dict[str, Any] = (
        {"has_next": page.has_next} if paging.use_has_next else {"total_results": page.total}
    )
    # An empty page has no ``trades`` at all, as TOP answers.
    out["trades"] = [select(selection, shape) for shape in shapes] or None
    return out


_LIST_EXAMPLE = {
    "total_results": 1,
    "trades": [
        {
            "tid": 1001,
            "tid_str": "1001",
            "status": "WAIT_SELLER_SEND_GOODS",
            "payment": "20.00",
            "orders": [{"oid": 2001, "oid_str": "2001", "title": "…", "num": 1}],
        }
    ],
}


@registry.method(
    "taobao.trades.sold.get",
    params=SoldGetParams,
    package="trades-read",
    session=True,
    role="seller",
    fields=("total_results", "has_next", "trades"),
    lists=TRADE_LISTS,
    max_page_size=MAX_TRADES_PAGE,
    description="The seller's trades, newest created first, with TOP's filters.",
    example=_LIST_EXAMPLE,
)
async def trades_sold_get(ctx: CallContext, params: SoldGetParams) -> dict[str, Any]:
    selection = envelope.require_fields(params.fields, TRADE_LISTS)
    paging, page_request = _page(params)
    zone = ctx.settings.zone
    search = service.TradeSearch(
        status=params.status,
        type=comma_list(params.type),
        buyer_nick=params.buyer_nick,
        rate_status=params.rate_status,
        start_created=top_time(params.start_created, "start_created", zone),
        end_created=top_time(params.end_created, "end_created", zone),
    )
    page = await service.search_sold_trades(ctx.db_session, ctx.session_user, search, page_request)
    return await _listing(ctx, page, selection, paging)


@registry.method(
    "taobao.trades.sold.increment.get",
    params=SoldIncrementParams,
    package="trades-read",
    session=True,
    role="seller",
    fields=("total_results", "has_next", "trades"),
    lists=TRADE_LISTS,
    max_page_size=MAX_TRADES_PAGE,
    description="The seller's trades modified in a window of at most one day, most "
    "recently modified first.",
    example=_LIST_EXAMPLE,
)
async def trades_sold_increment_get(
    ctx: CallContext, params: SoldIncrementParams
) -> dict[str, Any]:
    selection = envelope.require_fields(params.fields, TRADE_LISTS)
    paging, page_request = _page(params)
    zone = ctx.settings.zone
    search = service.TradeSearch(
        status=params.status,
        type=comma_list(params.type),
        buyer_nick=params.buyer_nick,
        rate_status=params.rate_status,
        start_modified=top_time(params.start_modified, "start_modified", zone),
        end_modified=top_time(params.end_modified, "end_modified", zone),
    )
    page = await service.changed_sold_trades(ctx.db_session, ctx.session_user, search, page_request)
    return await _listing(ctx, page, selection, paging)


@registry.method(
    "taobao.trades.bought.get",
    params=BoughtGetParams,
    package="trades-read",
    session=True,
    role="buyer",
    fields=("total_results", "has_next", "trades"),
    lists=TRADE_LISTS,
    max_page_size=MAX_TRADES_PAGE,
    description="The buyer's trades, newest created first (no seller memo).",
    example=_LIST_EXAMPLE,
)
async def trades_bought_get(ctx: CallContext, params: BoughtGetParams) -> dict[str, Any]:
    selection = envelope.require_fields(params.fields, TRADE_LISTS)
    paging, page_request = _page(params)
    zone = ctx.settings.zone
    search = service.TradeSearch(
        status=params.status,
        type=comma_list(params.type),
        seller_nick=params.seller_nick,
        rate_status=params.rate_status,
        start_created=top_time(params.start_created, "start_created", zone),
        end_created=top_time(params.end_created, "end_created", zone),
    )
    page = await service.search_bought_trades(
        ctx.db_session, ctx.session_user, search, page_request
    )
    return await _listing(ctx, page, selection, paging)


# --- single trades -------------------------------------------------------------------


class TradeGetParams(TopParams):
    fields: str
    tid: int


_TRADE_EXAMPLE = {
    "trade": {
        "tid": 1001,
        "tid_str": "1001",
        "status": "WAIT_SELLER_SEND_GOODS",
        "orders": [{"oid": 2001, "oid_str": "2001", "title": "…"}],
    }
}


async def _one(ctx: CallContext, trade: Trade, fields: str) -> dict[str, Any]:
    selection = envelope.require_fields(fields, TRADE_LISTS)
    (shape,) = await trade_shapes(ctx.db_session, [trade], viewer=ctx.user)
    return {"trade": select(selection, shape)}


@registry.method(
    "taobao.trade.fullinfo.get",
    params=TradeGetParams,
    package="trades-read",
    session=True,
    role="seller",
    fields=("trade",),
    lists=TRADE_LISTS,
    description="One of the seller's trades with every field asked for.",
    example=_TRADE_EXAMPLE,
)
async def trade_fullinfo_get(ctx: CallContext, params: TradeGetParams) -> dict[str, Any]:
    envelope.require_fields(params.fields, TRADE_LISTS)
    trade = await service.get_seller_trade(ctx.db_session, ctx.session_user, params.tid)
    return await _one(ctx, trade, params.fields)


@registry.method(
    "taobao.trade.get",
    params=TradeGetParams,
    package="trades-read",
    session=True,
    role="any",
    fields=("trade",),
    lists=TRADE_LISTS,
    description="A trade, for its seller or its buyer (the buyer does not see the memo).",
    example=_TRADE_EXAMPLE,
)
async def trade_get(ctx: CallContext, params: TradeGetParams) -> dict[str, Any]:
    envelope.require_fields(params.fields, TRADE_LISTS)
    trade = await service.get_party_trade(ctx.db_session, ctx.session_user, params.tid)
    return await _one(ctx, trade, params.fields)


# --- seller's updates ----------------------------------------------------------------


def _stamp(trade: Trade, *names: str) -> dict[str, Any]:
    values = {"tid": trade.id, "created": trade.modified, "modified": trade.modified}
    values["status"] = trade.status
    return {"trade": envelope.with_str_twins({n: values[n] for n in ("tid", *names)}, "tid")}


class MemoAddParams(TopParams):
    tid: int
    memo: str
    flag: int | None = None


@registry.method(
    "taobao.trade.memo.add",
    params=MemoAddParams,
    package="trades-write",
    session=True,
    role="seller",
    write=True,
    fields=("trade",),
    description="Set the seller's memo (and flag 0–5) on a trade; created is the memo's time.",
    example={"trade": {"tid": 1001, "created": "2026-01-01 12:00:00"}},
)
async def trade_memo_add(ctx: CallContext, params: MemoAddParams) -> dict[str, Any]:
    trade = await service.update_memo(
        ctx.db_session, ctx.session_user, params.tid, memo=params.memo, flag=params.flag
    )
    return _stamp(trade, "created")


class MemoUpdateParams(TopParams):
    tid: int
    memo: str | None = None
    flag: int | None = None
    reset: bool = False


@registry.method(
    "taobao.trade.memo.update",
    params=MemoUpdateParams,
    package="trades-write",
    session=True,
    role="seller",
    write=True,
    fields=("trade",),
    description="Change the seller's memo or flag; reset=true clears the memo.",
    example={"trade": {"tid": 1001, "modified": "2026-01-01 12:00:00"}},
)
async def trade_memo_update(ctx: CallContext, params: MemoUpdateParams) -> dict[str, Any]:
    memo = "" if params.reset else params.memo
    if memo is None and params.flag is None:
        raise ValidationFailed.one("memo", "missing", "give memo, flag or reset=true")
    trade = await service.update_memo(
        ctx.db_session, ctx.session_user, params.tid, memo=memo, flag=params.flag
    )
    return _stamp(trade, "modified")


class CloseParams(TopParams):
    tid: int
    close_reason: str


@registry.method(
    "taobao.trade.close",
    params=CloseParams,
    package="trades-write",
    session=True,
    role="seller",
    write=True,
    fields=("trade",),
    description="Close an unpaid trade (TRADE_CLOSED_BY_TAOBAO); its stock goes back.",
    example={
        "trade": {
            "tid": 1001,
            "modified": "2026-01-01 12:00:00",
            "status": "TRADE_CLOSED_BY_TAOBAO",
        }
    },
)
async def trade_close(ctx: CallContext, params: CloseParams) -> dict[str, Any]:
    trade = await service.close_by_seller(
        ctx.db_session, ctx.session_user, params.tid, reason=params.close_reason
    )
    return _stamp(trade, "modified", "status")


class ShippingAddressParams(TopParams):
    tid: int
    receiver_name: str | None = None
    receiver_phone: str | None = None
    receiver_mobile: str | None = None
    receiver_state: str | None = None
    receiver_city: str | None = None
    receiver_district: str | None = None
    receiver_address: str | None = None
    receiver_zip: str | None = None


@registry.method(
    "taobao.trade.shippingaddress.update",
    params=ShippingAddressParams,
    package="trades-write",
    session=True,
    role="seller",
    write=True,
    fields=("trade",),
    description="Correct the receiver of a trade before it ships; given fields replace.",
    example={"trade": {"tid": 1001, "modified": "2026-01-01 12:00:00"}},
)
async def trade_shippingaddress_update(
    ctx: CallContext, params: ShippingAddressParams
) -> dict[str, Any]:
    trade = await service.seller_change_address(
        ctx.db_session,
        ctx.session_user,
        params.tid,
        name=params.receiver_name,
        mobile=params.receiver_mobile,
        phone=params.receiver_phone,
        state=params.receiver_state,
        city=params.receiver_city,
        district=params.receiver_district,
        address=params.receiver_address,
        zip_code=params.receiver_zip,
    )
    return _stamp(trade, "modified")


class ReceiveDelayParams(TopParams):
    tid: int
    days: int


@registry.method(
    "taobao.trade.receivetime.delay",
    params=ReceiveDelayParams,
    package="trades-write",
    session=True,
    role="seller",
    write=True,
    fields=("trade",),
    description="Give the buyer 3, 5, 7 or 10 more days before receipt confirms itself.",
    example={"trade": {"tid": 1001, "modified": "2026-01-01 12:00:00"}},
)
async def trade_receivetime_delay(ctx: CallContext, params: ReceiveDelayParams) -> dict[str, Any]:
    trade = await service.delay_receive_time(
        ctx.db_session, ctx.session_user, params.tid, days=params.days
    )
    return _stamp(trade, "modified")
