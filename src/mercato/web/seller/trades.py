"""The seller workbench's after-sale pages: sold trades (memo, price, shipping, tracking,
packing list), refunds to answer and buyers' ratings to reply to.

Pages only adapt: they read the form, call one service, and show its problems inline or in
a banner. Another seller's trade or refund is "not found", as the services say.
"""

from __future__ import annotations

from typing import Any, Final

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from mercato.accounts import service as accounts
from mercato.kit.errors import Conflict, ValidationFailed
from mercato.kit.money import parse_yuan
from mercato.kit.pagination import PageRequest
from mercato.logistics import service as logistics
from mercato.logistics.carriers import list_carriers
from mercato.models import User
from mercato.ratings import service as ratings
from mercato.refunds import schemas as rs
from mercato.refunds import service as refunds
from mercato.shops import service as shops
from mercato.trade import schemas as ts
from mercato.trade import service as trades
from mercato.web.csrf import csrf_protect
from mercato.web.deps import PathId, db_of, require_seller, timeouts_of
from mercato.web.forms import form_dict, page_param
from mercato.web.templating import page

router = APIRouter(prefix="/seller", dependencies=[Depends(csrf_protect)])

TRADES_PAGE_SIZE = 20
REFUNDS_PAGE_SIZE = 20
RATINGS_PAGE_SIZE = 20

# The status tabs of the sold-trades list, in Taobao's order.
TRADE_TABS: Final = (
    (ts.WAIT_BUYER_PAY, "待付款 Unpaid"),
    (ts.WAIT_SELLER_SEND_GOODS, "待发货 To ship"),
    (ts.WAIT_BUYER_CONFIRM_GOODS, "已发货 Shipped"),
    (ts.TRADE_FINISHED, "已完成 Finished"),
    (ts.TRADE_CLOSED_BY_TAOBAO, "已关闭 Closed"),
    (ts.TRADE_CLOSED, "退款关闭 Refunded"),
)
TRADE_STATUS_NAMES: Final = dict(TRADE_TABS)
FLAGS: Final = (
    (0, "无 None"),
    (1, "红 Red"),
    (2, "黄 Yellow"),
    (3, "绿 Green"),
    (4, "蓝 Blue"),
    (5, "紫 Purple"),
)
REFUND_TABS: Final = (
    (rs.WAIT_SELLER_AGREE, "待处理 To answer"),
    (rs.WAIT_BUYER_RETURN_GOODS, "待买家退货 Awaiting return"),
    (rs.WAIT_SELLER_CONFIRM_GOODS, "待确认收货 Goods returned"),
    (rs.SELLER_REFUSE_BUYER, "已拒绝 Refused"),
    (rs.SUCCESS, "退款成功 Refunded"),
    (rs.CLOSED, "已关闭 Closed"),
)
REFUND_STATUS_NAMES: Final = dict(REFUND_TABS)
RESULT_NAMES: Final = {"good": "好评 Good", "neutral": "中评 Neutral", "bad": "差评 Bad"}
NOTICES: Final = {
    "memo_saved": "备注已保存 · Memo saved.",
    "price_saved": "价格已修改 · Price changed.",
    "shipped": "已发货 · Shipped.",
    "agreed": "已同意退款 · Refund agreed.",
    "refused": "已拒绝退款 · Refund refused.",
    "goods_confirmed": "已确认收到退货 · Returned goods confirmed.",
    "replied": "回复已发布 · Reply posted.",
}


def _redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def _notice(request: Request) -> str | None:
    return NOTICES.get(request.query_params.get("msg", ""))


def _choice(request: Request, tabs: tuple[tuple[str, str], ...]) -> str | None:
    status = request.query_params.get("status", "")
    return status if status in dict(tabs) else None


# ---------------------------------------------------------------- sold trades


@router.get("/trades")
async def trade_list(request: Request, user: User = Depends(require_seller)) -> Response:
    status = _choice(request, TRADE_TABS)
    async with db_of(request).read() as session:
        result = await trades.sold_trades(
            session, user, status, PageRequest(page_param(request), TRADES_PAGE_SIZE)
        )
        nicks = await accounts.nicks(session, {t.buyer_id for t in result.items})
    return await page(
        request,
        "seller/trades.html",
        trades=result,
        status=status,
        tabs=TRADE_TABS,
        status_names=TRADE_STATUS_NAMES,
        nicks=nicks,
    )


async def _trade_page(
    request: Request, user: User, tid: int, status_code: int = 200, **extra: Any
) -> Response:
    async with db_of(request).read() as session:
        trade = await trades.get_seller_trade(session, user, tid)
        nicks = await accounts.nicks(session, [trade.buyer_id])
        carriers = await list_carriers(session)
        parcels = await logistics.trace(session, user, tid)
    context: dict[str, Any] = {
        "memo_form": {"memo": trade.seller_memo, "flag": str(trade.seller_flag)},
        "price_form": {"payment": ""},
        "ship_form": {"company_code": "", "out_sid": "", "order_ids": set()},
        "errors": {},
        "problem": None,
    }
    context.update(extra)
    return await page(
        request,
        "seller/trade.html",
        status_code,
        trade=trade,
        buyer_nick=nicks.get(trade.buyer_id, ""),
        carriers=carriers,
        carrier_names={c.code: c.name for c in carriers},
        parcels=parcels,
        status_names=TRADE_STATUS_NAMES,
        flags=FLAGS,
        notice=_notice(request),
        **context,
    )


@router.get("/trades/{tid}")
async def trade_detail(
    request: Request, tid: PathId, user: User = Depends(require_seller)
) -> Response:
    return await _trade_page(request, user, tid)


@router.post("/trades/{tid}/memo")
async def save_memo(
    request: Request, tid: PathId, user: User = Depends(require_seller)
) -> Response:
    form = await form_dict(request)
    memo = form.get("memo", "")
    raw_flag = form.get("flag", "0").strip()
    try:
        if not raw_flag.isdigit():
            raise ValidationFailed.one("flag", "choice", "must be 0 to 5")
        async with db_of(request).write() as session:
            await trades.update_memo(session, user, tid, memo=memo, flag=int(raw_flag))
    except ValidationFailed as exc:
        errors = {"memo": exc.by_field()}
        return await _trade_page(request, user, tid, 422, memo_form=form, errors=errors)
    return _redirect(f"/seller/trades/{tid}?msg=memo_saved")


@router.post("/trades/{tid}/price")
async def adjust_price(
    request: Request, tid: PathId, user: User = Depends(require_seller)
) -> Response:
    form = await form_dict(request)
    try:
        payment = parse_yuan(form.get("payment", ""), "payment")
        async with db_of(request).write() as session:
            await trades.adjust_price(session, user, tid, payment)
    except ValidationFailed as exc:
        errors = {"price": exc.by_field()}
        return await _trade_page(request, user, tid, 422, price_form=form, errors=errors)
    except Conflict as exc:
        return await _trade_page(request, user, tid, 409, price_form=form, problem=exc.message)
    return _redirect(f"/seller/trades/{tid}?msg=price_saved")


@router.post("/trades/{tid}/ship")
async def ship(request: Request, tid: PathId, user: User = Depends(require_seller)) -> Response:
    raw = await request.form()
    company_code = str(raw.get("company_code", ""))
    out_sid = str(raw.get("out_sid", ""))
    chosen = [int(v) for v in raw.getlist("order_id") if isinstance(v, str) and v.isdigit()]
    form = {"company_code": company_code, "out_sid": out_sid, "order_ids": set(chosen)}
    try:
        async with db_of(request).write() as session:
            await logistics.offline_send(
                session,
                user,
                tid,
                company_code=company_code,
                out_sid=out_sid,
                order_ids=chosen or None,  # none ticked: every order still waiting
                timeouts=timeouts_of(request),
            )
    except ValidationFailed as exc:
        errors = {"ship": exc.by_field()}
        return await _trade_page(request, user, tid, 422, ship_form=form, errors=errors)
    except Conflict as exc:
        return await _trade_page(request, user, tid, 409, ship_form=form, problem=exc.message)
    return _redirect(f"/seller/trades/{tid}?msg=shipped")


@router.get("/trades/{tid}/packing-list")
async def packing_list(
    request: Request, tid: PathId, user: User = Depends(require_seller)
) -> Response:
    async with db_of(request).read() as session:
        trade = await trades.get_seller_trade(session, user, tid)
        shop = await shops.my_shop(session, user)
        nicks = await accounts.nicks(session, [trade.buyer_id])
    return await page(
        request,
        "seller/trade_packing.html",
        trade=trade,
        shop=shop,
        buyer_nick=nicks.get(trade.buyer_id, ""),
    )


# ---------------------------------------------------------------- refunds


@router.get("/refunds")
async def refund_list(request: Request, user: User = Depends(require_seller)) -> Response:
    status = _choice(request, REFUND_TABS)
    async with db_of(request).read() as session:
        result = await refunds.seller_refunds(
            session, user, status, PageRequest(page_param(request), REFUNDS_PAGE_SIZE)
        )
        nicks = await accounts.nicks(session, {r.buyer_id for r in result.items})
    return await page(
        request,
        "seller/refunds.html",
        refunds=result,
        status=status,
        tabs=REFUND_TABS,
        status_names=REFUND_STATUS_NAMES,
        nicks=nicks,
    )


async def _refund_page(
    request: Request, user: User, refund_id: int, status_code: int = 200, **extra: Any
) -> Response:
    async with db_of(request).read() as session:
        refund = await refunds.get_refund(session, user, refund_id)
        # The seller's own trade: a refund the user only asked for as a buyer is not found.
        trade = await trades.get_seller_trade(session, user, refund.trade_id)
        nicks = await accounts.nicks(session, [refund.buyer_id])
    context: dict[str, Any] = {"refuse_form": {"reason": ""}, "errors": {}, "problem": None}
    context.update(extra)
    return await page(
        request,
        "seller/refund.html",
        status_code,
        refund=refund,
        trade=trade,
        order=next((o for o in trade.orders if o.id == refund.order_id), None),
        buyer_nick=nicks.get(refund.buyer_id, ""),
        status_names=REFUND_STATUS_NAMES,
        can_agree=refund.status == rs.WAIT_SELLER_AGREE,
        can_refuse=refund.status in (rs.WAIT_SELLER_AGREE, rs.WAIT_SELLER_CONFIRM_GOODS),
        can_confirm=refund.status == rs.WAIT_SELLER_CONFIRM_GOODS,
        notice=_notice(request),
        **context,
    )


@router.get("/refunds/{refund_id}")
async def refund_detail(
    request: Request, refund_id: PathId, user: User = Depends(require_seller)
) -> Response:
    return await _refund_page(request, user, refund_id)


async def _own_refund(request: Request, user: User, refund_id: int) -> None:
    """Before a write: someone else's refund is "not found", never a refused action."""
    async with db_of(request).read() as session:
        refund = await refunds.get_refund(session, user, refund_id)
        await trades.get_seller_trade(session, user, refund.trade_id)


@router.post("/refunds/{refund_id}/agree")
async def agree_refund(
    request: Request, refund_id: PathId, user: User = Depends(require_seller)
) -> Response:
    await _own_refund(request, user, refund_id)
    try:
        async with db_of(request).write() as session:
            await refunds.seller_agree(session, user, refund_id, timeouts=timeouts_of(request))
    except Conflict as exc:
        return await _refund_page(request, user, refund_id, 409, problem=exc.message)
    return _redirect(f"/seller/refunds/{refund_id}?msg=agreed")


@router.post("/refunds/{refund_id}/refuse")
async def refuse_refund(
    request: Request, refund_id: PathId, user: User = Depends(require_seller)
) -> Response:
    await _own_refund(request, user, refund_id)
    form = await form_dict(request)
    try:
        async with db_of(request).write() as session:
            await refunds.seller_refuse(session, user, refund_id, form.get("reason", ""))
    except ValidationFailed as exc:
        return await _refund_page(
            request, user, refund_id, 422, refuse_form=form, errors=exc.by_field()
        )
    except Conflict as exc:
        return await _refund_page(
            request, user, refund_id, 409, refuse_form=form, problem=exc.message
        )
    return _redirect(f"/seller/refunds/{refund_id}?msg=refused")


@router.post("/refunds/{refund_id}/confirm-goods")
async def confirm_goods(
    request: Request, refund_id: PathId, user: User = Depends(require_seller)
) -> Response:
    await _own_refund(request, user, refund_id)
    try:
        async with db_of(request).write() as session:
            await refunds.seller_confirm_goods(
                session, user, refund_id, timeouts=timeouts_of(request)
            )
    except Conflict as exc:
        return await _refund_page(request, user, refund_id, 409, problem=exc.message)
    return _redirect(f"/seller/refunds/{refund_id}?msg=goods_confirmed")


# ---------------------------------------------------------------- ratings


async def _ratings_page(
    request: Request, user: User, status_code: int = 200, **extra: Any
) -> Response:
    async with db_of(request).read() as session:
        shop = await shops.my_shop(session, user)
        summary = await ratings.shop_summary(session, shop.id)
        result = await ratings.shop_rates(
            session, shop.id, PageRequest(page_param(request), RATINGS_PAGE_SIZE)
        )
        nicks = await accounts.nicks(session, {r.rater_id for r in result.items})
    context: dict[str, Any] = {"reply_to": None, "reply_text": "", "reply_error": None}
    context.update(extra)
    return await page(
        request,
        "seller/ratings.html",
        status_code,
        summary=summary,
        rates=result,
        nicks=nicks,
        result_names=RESULT_NAMES,
        notice=_notice(request),
        **context,
    )


@router.get("/ratings")
async def rating_list(request: Request, user: User = Depends(require_seller)) -> Response:
    return await _ratings_page(request, user)


@router.post("/ratings/{rate_id}/reply")
async def reply_rating(
    request: Request, rate_id: PathId, user: User = Depends(require_seller)
) -> Response:
    form = await form_dict(request)
    text = form.get("reply", "")
    try:
        async with db_of(request).write() as session:
            await ratings.reply(session, user, rate_id, text)
    except ValidationFailed as exc:
        message = exc.problems[0].message
        return await _ratings_page(
            request, user, 422, reply_to=rate_id, reply_text=text, reply_error=message
        )
    except Conflict as exc:
        return await _ratings_page(request, user, 409, problem=exc.message)
    return _redirect(f"/seller/ratings?msg=replied#rate-{rate_id}")
