"""The buyer's pages: cart, checkout, payment, my trades (with shipping, receipt, refunds and
ratings) and the address book. Every rule lives in the services; a refused action re-renders
its page with the service's message."""

from __future__ import annotations

import re
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from mercato import payments
from mercato.kit.errors import Conflict, ValidationFailed
from mercato.kit.money import parse_yuan
from mercato.kit.pagination import PageRequest
from mercato.ledger.accounts import wallet
from mercato.ledger.service import balance
from mercato.logistics import service as logistics
from mercato.models import Payment, Refund, User
from mercato.payments.service import InsufficientFunds
from mercato.ratings import service as ratings
from mercato.refunds import service as refunds
from mercato.trade import service as trade
from mercato.trade.schemas import STATUSES, AddressInput, CheckoutLine
from mercato.web.csrf import csrf_protect
from mercato.web.deps import PathId, current_user, db_of, require_user, timeouts_of
from mercato.web.forms import form_dict, int_param, page_param, parse, safe_next
from mercato.web.payments import sandbox_secret, simulate_channel
from mercato.web.templating import page

router = APIRouter(dependencies=[Depends(csrf_protect)])

TRADES_PAGE_SIZE = 10
MAX_PAY_TIDS = 50

TRADE_STATUS = {
    "WAIT_BUYER_PAY": "待付款 Awaiting payment",
    "WAIT_SELLER_SEND_GOODS": "待发货 Paid, awaiting shipment",
    "WAIT_BUYER_CONFIRM_GOODS": "待收货 Shipped",
    "TRADE_FINISHED": "交易成功 Finished",
    "TRADE_CLOSED": "交易关闭 Closed (refunded)",
    "TRADE_CLOSED_BY_TAOBAO": "已取消 Closed unpaid",
}
STATUS_TABS = (
    ("", "全部 All"),
    ("WAIT_BUYER_PAY", "待付款 To pay"),
    ("WAIT_SELLER_SEND_GOODS", "待发货 To ship"),
    ("WAIT_BUYER_CONFIRM_GOODS", "待收货 To receive"),
    ("TRADE_FINISHED", "已完成 Finished"),
)
REFUND_STATUS = {
    "WAIT_SELLER_AGREE": "等待卖家同意 Waiting for the seller",
    "WAIT_BUYER_RETURN_GOODS": "请退货 Please return the goods",
    "WAIT_SELLER_CONFIRM_GOODS": "等待卖家收货 Waiting for the seller to receive the goods",
    "SELLER_REFUSE_BUYER": "卖家拒绝 The seller refused",
    "CLOSED": "退款关闭 Closed",
    "SUCCESS": "退款成功 Refunded",
}
CART_PROBLEMS = {
    "not_on_sale": "已下架 No longer on sale",
    "sku_mismatch": "规格已变 Choose the options again",
    "out_of_stock": "库存不足 Not enough stock",
}
NOTICES = {
    "paid": "付款成功 Payment done — the sellers will ship soon.",
    "cancelled": "订单已取消 The trade was cancelled.",
    "confirmed": "已确认收货 Receipt confirmed.",
    "extended": "已延长收货时间 The receive time was extended.",
    "refund": "退款申请已提交 Refund requested.",
    "refund_updated": "退款已更新 Refund updated.",
    "rated": "评价成功 Thanks for rating.",
    "address": "地址已保存 Address saved.",
}
LABELS = {
    "trade_status": TRADE_STATUS,
    "refund_status": REFUND_STATUS,
    "cart_problems": CART_PROBLEMS,
}

Action = Callable[[AsyncSession, User], Awaitable[Any]]


def _notice(request: Request) -> str:
    return NOTICES.get(request.query_params.get("notice", ""), "")


def _whole(value: str | None, field: str) -> int:
    """A whole number a form sent; a ValidationFailed naming the field otherwise."""
    try:
        return int((value or "").strip())
    except ValueError:
        raise ValidationFailed.one(field, "integer", "must be a whole number") from None


def _tids(raw: str | None) -> list[int]:
    """Trade ids from "1,2,3"; unreadable parts are dropped."""
    tids = [int_param(part) for part in (raw or "").split(",")[:MAX_PAY_TIDS]]
    return sorted({tid for tid in tids if tid is not None})


def _redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


# ---------------------------------------------------------------- cart


async def _cart_page(
    request: Request, user: User, status_code: int = 200, error: str = ""
) -> Response:
    async with db_of(request).read() as session:
        cart = await trade.view_cart(session, user)
    buyable = any(line.buyable for shop in cart.shops for line in shop.lines)
    return await page(
        request,
        "buyer/cart.html",
        status_code,
        cart=cart,
        buyable=buyable,
        error=error,
        labels=LABELS,
    )


def _form_line(form: dict[str, str]) -> CheckoutLine:
    """The item, SKU and quantity an item page's buy form sent."""
    item_id = int_param(form.get("item_id"))
    if item_id is None:
        raise ValidationFailed.one("item_id", "required", "choose an item")
    raw_sku = (form.get("sku_id") or "").strip()
    sku_id = _whole(raw_sku, "sku_id") if raw_sku else 0
    return CheckoutLine(item_id, sku_id, _whole(form.get("quantity") or "1", "quantity"))


def _buy_now(raw: str | None) -> CheckoutLine | None:
    """The "item:sku:quantity" line of a buy-now checkout, None when there is none. An
    unreadable one is a line of nothing, which the checkout then refuses like any other."""
    if not raw:
        return None
    try:
        item_id, sku_id, quantity = (int(part) for part in raw.split(":"))
    except ValueError:  # not three whole numbers
        return CheckoutLine(0, 0, 0)
    return CheckoutLine(item_id, sku_id, quantity)


async def _signed_in_or_back(request: Request, form: dict[str, str]) -> User | Response:
    """The buyer, or a trip to sign in that comes back to the item page."""
    user = await current_user(request)
    if user is not None:
        return user
    item_id = int_param(form.get("item_id"))
    return _redirect(f"/login?next=/item/{item_id}" if item_id else "/login?next=/cart")


@router.post("/cart/add")
async def cart_add(request: Request) -> Response:
    form = await form_dict(request)
    user = await _signed_in_or_back(request, form)
    if isinstance(user, Response):
        return user
    try:
        line = _form_line(form)
        async with db_of(request).write() as session:
            await trade.add_to_cart(session, user, *line)
    except ValidationFailed as exc:
        return await _cart_page(request, user, 422, f"加入购物车失败 Not added: {exc.message}")
    return _redirect("/cart")


@router.post("/buy")
async def buy_now(request: Request) -> Response:
    """Buy now on an item page: straight to checkout with that one line, cart untouched."""
    form = await form_dict(request)
    user = await _signed_in_or_back(request, form)
    if isinstance(user, Response):
        return user
    try:
        line = _form_line(form)
    except ValidationFailed as exc:
        return await _cart_page(request, user, 422, f"无法购买 Cannot buy: {exc.message}")
    return _redirect("/checkout?buy=" + ":".join(str(part) for part in line))


@router.get("/cart")
async def cart(request: Request) -> Response:
    user = await require_user(request)
    return await _cart_page(request, user)


@router.post("/cart/{line_id}/update")
async def cart_update(request: Request, line_id: PathId) -> Response:
    user = await require_user(request)
    form = await form_dict(request)
    try:
        quantity = _whole(form.get("quantity"), "quantity")
        async with db_of(request).write() as session:
            await trade.update_cart_line(session, user, line_id, quantity)
    except ValidationFailed as exc:
        return await _cart_page(request, user, 422, exc.message)
    return _redirect("/cart")


@router.post("/cart/{line_id}/remove")
async def cart_remove(request: Request, line_id: PathId) -> Response:
    user = await require_user(request)
    async with db_of(request).write() as session:
        await trade.remove_cart_line(session, user, line_id)
    return _redirect("/cart")


# ---------------------------------------------------------------- checkout


async def _checkout_page(
    request: Request,
    user: User,
    status_code: int = 200,
    *,
    form: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
) -> Response:
    form = form or {}
    buy = _buy_now(form.get("buy") or request.query_params.get("buy"))
    async with db_of(request).read() as session:
        if buy is None:
            cart = await trade.view_cart(session, user)
        else:
            cart = await trade.view_buy_now(session, buy)
        addresses = await trade.list_addresses(session, user)
    lines = [line for shop in cart.shops for line in shop.lines]
    buyable = any(line.buyable for line in lines)
    errors = dict(errors or {})
    if not buyable:
        if buy is None:
            return _redirect("/cart")
        problem = lines[0].problem if lines else "not_on_sale"
        errors.setdefault("form", "无法购买 Cannot buy: " + CART_PROBLEMS[problem or "not_on_sale"])
    chosen = int_param(form.get("address_id"))
    if chosen is None:
        chosen = next((a.id for a in addresses if a.is_default), None)
        chosen = chosen or (addresses[0].id if addresses else None)
    here = "/checkout" + (f"?buy={buy.item_id}:{buy.sku_id}:{buy.quantity}" if buy else "")
    return await page(
        request,
        "buyer/checkout.html",
        status_code,
        cart=cart,
        buyable=buyable,
        buy=f"{buy.item_id}:{buy.sku_id}:{buy.quantity}" if buy else "",
        here=here,
        addresses=addresses,
        chosen=chosen,
        form=form,
        errors=errors,
        checkout_key=form.get("checkout_key") or uuid.uuid4().hex,
        labels=LABELS,
    )


@router.get("/checkout")
async def checkout_form(request: Request) -> Response:
    user = await require_user(request)
    return await _checkout_page(request, user)


@router.post("/checkout")
async def checkout(request: Request) -> Response:
    """Place the order: the buy-now line when the form carries one, else the cart's
    buyable lines. Repeating a submission (same ``checkout_key``) places nothing new."""
    user = await require_user(request)
    form = await form_dict(request)
    try:
        address_id = int_param(form.get("address_id"))
        if address_id is None:
            raise ValidationFailed.one("address_id", "required", "choose an address · 请选择地址")
        messages = {
            shop_id: form[name].strip()
            for name in form
            if name.startswith("message_")
            and (shop_id := int_param(name.removeprefix("message_"))) is not None
            and form[name].strip()
        }
        buy = _buy_now(form.get("buy"))
        async with db_of(request).write() as session:
            lines = [buy] if buy else await _cart_lines(session, user)
            trades = await trade.checkout(
                session,
                user,
                lines=lines or None,
                address_id=address_id,
                buyer_messages=messages,
                checkout_key=form.get("checkout_key", ""),
                timeouts=timeouts_of(request),
            )
            tids = [t.id for t in trades]
    except ValidationFailed as exc:
        errors = exc.by_field()
        errors.setdefault("form", exc.message)
        return await _checkout_page(request, user, 422, form=form, errors=errors)
    return _redirect("/pay?tids=" + ",".join(str(tid) for tid in sorted(tids)))


async def _cart_lines(session: AsyncSession, user: User) -> list[CheckoutLine]:
    cart_view = await trade.view_cart(session, user)
    return [
        CheckoutLine(line.item_id, line.sku_id, line.quantity)
        for shop in cart_view.shops
        for line in shop.lines
        if line.buyable
    ]


# ---------------------------------------------------------------- pay

PAY_CHANNELS = {
    "wallet": "钱包 Wallet",
    "sandbox": "支付宝沙箱 Alipay sandbox 沙箱支付",
}
PAYMENT_STATUS = {
    "pending": "待支付 Waiting for payment",
    "paid": "已支付 Paid",
    "failed": "支付失败 Payment failed — nothing was charged",
    "refunded": "已退回 The trades closed before the money came; it went back to you",
}
SIMULATED_OUTCOMES = ("paid", "failed")
_PAY_KEY = re.compile(r"[0-9a-f]{32}")


def _pay_key(channel: str, tids: list[int], sent: str | None) -> str:
    """The idempotency key of a payment from the pay form.

    Wallet: the trades themselves, so paying them twice charges once. Sandbox: the key the
    page was rendered with, so a double submit opens one payment, while a new attempt
    after a failed one (a reloaded page) opens a new one.
    """
    if channel == "sandbox":
        key = sent if sent and _PAY_KEY.fullmatch(sent) else uuid.uuid4().hex
        return "sandbox:" + key
    return trade.wallet_pay_key(tids)


async def _pay_page(
    request: Request, user: User, tids: list[int], status_code: int = 200, error: str = ""
) -> Response:
    async with db_of(request).read() as session:
        trades = [await trade.get_buyer_trade(session, user, tid) for tid in tids]
        funds = await balance(session, wallet(user.id))
    unpaid = [t for t in trades if t.status == "WAIT_BUYER_PAY"]
    return await page(
        request,
        "buyer/pay.html",
        status_code,
        trades=trades,
        unpaid=unpaid,
        amount=sum(t.payment for t in unpaid),
        funds=funds,
        tids=",".join(str(t.id) for t in unpaid),
        channels=PAY_CHANNELS,
        pay_key=uuid.uuid4().hex,
        error=error,
        labels=LABELS,
    )


@router.get("/pay")
async def pay_form(request: Request) -> Response:
    user = await require_user(request)
    tids = _tids(request.query_params.get("tids"))
    if not tids:
        return _redirect("/trades?status=WAIT_BUYER_PAY")
    return await _pay_page(request, user, tids)


@router.post("/pay")
async def pay(request: Request) -> Response:
    """Wallet: pay now. Sandbox: open the payment and go to the channel's cashier."""
    user = await require_user(request)
    form = await form_dict(request)
    tids = _tids(form.get("tids"))
    if not tids:
        return _redirect("/trades?status=WAIT_BUYER_PAY")
    channel = form.get("channel") or "wallet"
    try:
        async with db_of(request).write() as session:
            result = await trade.pay(
                session,
                user,
                tids,
                channel=channel,
                key=_pay_key(channel, tids, form.get("pay_key")),
            )
    except InsufficientFunds:
        message = "余额不足 Your wallet balance is not enough to pay."
        return await _pay_page(request, user, tids, 409, message)
    except (ValidationFailed, Conflict) as exc:
        return await _pay_page(request, user, tids, 409, exc.message)
    if isinstance(result, Payment):
        return _redirect(f"/pay/sandbox/{result.external_ref}")
    return _redirect("/trades?notice=paid")


async def _cashier_page(
    request: Request, user: User, ref: str, status_code: int = 200, error: str = ""
) -> Response:
    async with db_of(request).read() as session:
        payment = await payments.buyer_payment(session, user.id, ref, channel="sandbox")
        split = await payments.payment_split(session, payment.id)
        trades = [await trade.get_buyer_trade(session, user, tid) for tid, _ in split]
    return await page(
        request,
        "buyer/cashier.html",
        status_code,
        payment=payment,
        trades=trades,
        tids=",".join(str(t.id) for t in trades),
        payment_status=PAYMENT_STATUS,
        outcomes=SIMULATED_OUTCOMES,
        error=error,
        labels=LABELS,
    )


@router.get("/pay/sandbox/{external_ref}")
async def sandbox_cashier(request: Request, external_ref: str) -> Response:
    """The sandbox channel's cashier: what the buyer would see at Alipay."""
    user = await require_user(request)
    return await _cashier_page(request, user, external_ref)


@router.post("/pay/sandbox/{external_ref}")
async def sandbox_simulate(request: Request, external_ref: str) -> Response:
    """The buyer picks the outcome; the server, acting as the channel, delivers the signed
    callback through the callback route's own code path."""
    user = await require_user(request)
    form = await form_dict(request)
    outcome = form.get("outcome", "")
    if outcome not in SIMULATED_OUTCOMES:
        return await _cashier_page(request, user, external_ref, 422, "请选择结果 Pick an outcome.")
    async with db_of(request).read() as session:
        payment = await payments.buyer_payment(session, user.id, external_ref, channel="sandbox")
    answer = await simulate_channel(db_of(request), sandbox_secret(request), payment, outcome)
    if answer.status_code != 200:
        error = bytes(answer.body).decode()
        return await _cashier_page(request, user, external_ref, answer.status_code, error)
    async with db_of(request).read() as session:
        payment = await payments.buyer_payment(session, user.id, external_ref, channel="sandbox")
    if payment.status == "paid":
        return _redirect("/trades?notice=paid")
    return _redirect(f"/pay/sandbox/{external_ref}")


# ---------------------------------------------------------------- my trades


@router.get("/trades")
async def trades(request: Request) -> Response:
    user = await require_user(request)
    status = request.query_params.get("status", "")
    if status not in STATUSES:
        status = ""
    async with db_of(request).read() as session:
        result = await trade.my_trades(
            session, user, status or None, PageRequest(page_param(request), TRADES_PAGE_SIZE)
        )
    return await page(
        request,
        "buyer/trades.html",
        result=result,
        status=status,
        tabs=STATUS_TABS,
        notice=_notice(request),
        labels=LABELS,
    )


async def _trade_page(
    request: Request, user: User, tid: int, status_code: int = 200, error: str = ""
) -> Response:
    async with db_of(request).read() as session:
        the_trade = await trade.get_buyer_trade(session, user, tid)
        parcels = await logistics.trace(session, user, tid)
        order_refunds: dict[int, Refund] = {}
        for order in the_trade.orders:
            if order.refund_id:
                order_refunds[order.id] = await refunds.get_refund(session, user, order.refund_id)
    return await page(
        request,
        "buyer/trade.html",
        status_code,
        t=the_trade,
        parcels=parcels,
        refunds=order_refunds,
        paid=the_trade.status in trade.PAID_STATUSES,
        error=error,
        notice=_notice(request),
        labels=LABELS,
    )


@router.get("/trades/{tid}")
async def trade_detail(request: Request, tid: PathId) -> Response:
    user = await require_user(request)
    return await _trade_page(request, user, tid)


async def _act(request: Request, tid: int, action: Action, notice: str) -> Response:
    """Run one buyer action on a trade; back to its page, with the refusal if any."""
    user = await require_user(request)
    try:
        async with db_of(request).write() as session:
            await trade.get_buyer_trade(session, user, tid)  # NotFound for anyone else
            await action(session, user)
    except (ValidationFailed, Conflict) as exc:
        return await _trade_page(request, user, tid, 409, exc.message)
    return _redirect(f"/trades/{tid}?notice={notice}")


@router.post("/trades/{tid}/cancel")
async def trade_cancel(request: Request, tid: PathId) -> Response:
    async def act(session: AsyncSession, user: User) -> Any:
        return await trade.cancel_unpaid(session, user, tid)

    return await _act(request, tid, act, "cancelled")


@router.post("/trades/{tid}/confirm")
async def trade_confirm(request: Request, tid: PathId) -> Response:
    async def act(session: AsyncSession, user: User) -> Any:
        return await trade.confirm_receipt(session, user, tid)

    return await _act(request, tid, act, "confirmed")


@router.post("/trades/{tid}/extend")
async def trade_extend(request: Request, tid: PathId) -> Response:
    async def act(session: AsyncSession, user: User) -> Any:
        return await trade.extend_receive_time(session, user, tid)

    return await _act(request, tid, act, "extended")


@router.post("/trades/{tid}/refund")
async def trade_refund(request: Request, tid: PathId) -> Response:
    form = await form_dict(request)

    async def act(session: AsyncSession, user: User) -> Any:
        return await refunds.request_refund(
            session,
            user,
            tid=tid,
            oid=_whole(form.get("oid"), "oid"),
            dispute_type=form.get("dispute_type", ""),
            refund_fee=parse_yuan(form.get("refund_fee", ""), "refund_fee"),
            reason=form.get("reason", ""),
            desc=form.get("desc", ""),
            timeouts=timeouts_of(request),
        )

    return await _act(request, tid, act, "refund")


@router.post("/trades/{tid}/refunds/{refund_id}/return")
async def refund_return(request: Request, tid: PathId, refund_id: PathId) -> Response:
    form = await form_dict(request)

    async def act(session: AsyncSession, user: User) -> Any:
        return await refunds.buyer_return_goods(
            session,
            user,
            refund_id,
            form.get("company_code", ""),
            form.get("waybill", ""),
            timeouts=timeouts_of(request),
        )

    return await _act(request, tid, act, "refund_updated")


@router.post("/trades/{tid}/refunds/{refund_id}/close")
async def refund_close(request: Request, tid: PathId, refund_id: PathId) -> Response:
    async def act(session: AsyncSession, user: User) -> Any:
        return await refunds.buyer_close(session, user, refund_id, timeouts=timeouts_of(request))

    return await _act(request, tid, act, "refund_updated")


@router.post("/trades/{tid}/refunds/{refund_id}/intervene")
async def refund_intervene(request: Request, tid: PathId, refund_id: PathId) -> Response:
    async def act(session: AsyncSession, user: User) -> Any:
        return await refunds.request_intervention(session, user, refund_id)

    return await _act(request, tid, act, "refund_updated")


@router.post("/trades/{tid}/rate")
async def trade_rate(request: Request, tid: PathId) -> Response:
    form = await form_dict(request)

    async def act(session: AsyncSession, user: User) -> Any:
        return await ratings.rate(
            session, user, tid=tid, result=form.get("result", ""), content=form.get("content", "")
        )

    return await _act(request, tid, act, "rated")


# ---------------------------------------------------------------- addresses


async def _addresses_page(
    request: Request,
    user: User,
    status_code: int = 200,
    *,
    form: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
) -> Response:
    async with db_of(request).read() as session:
        addresses = await trade.list_addresses(session, user)
    return await page(
        request,
        "buyer/addresses.html",
        status_code,
        addresses=addresses,
        form=form or {},
        errors=errors or {},
        next=safe_next((form or {}).get("next") or request.query_params.get("next"), ""),
        notice=_notice(request),
    )


@router.get("/addresses")
async def addresses(request: Request) -> Response:
    user = await require_user(request)
    return await _addresses_page(request, user)


@router.post("/addresses")
async def address_add(request: Request) -> Response:
    user = await require_user(request)
    form = await form_dict(request)
    data = {key: value for key, value in form.items() if key != "next"}
    data["is_default"] = bool(form.get("is_default"))
    try:
        async with db_of(request).write() as session:
            await trade.add_address(session, user, parse(AddressInput, data))
    except ValidationFailed as exc:
        return await _addresses_page(request, user, 422, form=form, errors=exc.by_field())
    return _redirect(safe_next(form.get("next"), "/addresses?notice=address"))


async def _address_action(request: Request, action: Action) -> Response:
    user = await require_user(request)
    try:
        async with db_of(request).write() as session:
            await action(session, user)
    except (ValidationFailed, Conflict) as exc:
        errors = {"form": exc.message}
        return await _addresses_page(request, user, 409, errors=errors)
    return _redirect("/addresses")


@router.post("/addresses/{address_id}/default")
async def address_default(request: Request, address_id: PathId) -> Response:
    async def act(session: AsyncSession, user: User) -> Any:
        return await trade.set_default_address(session, user, address_id)

    return await _address_action(request, act)


@router.post("/addresses/{address_id}/delete")
async def address_delete(request: Request, address_id: PathId) -> Response:
    async def act(session: AsyncSession, user: User) -> Any:
        return await trade.delete_address(session, user, address_id)

    return await _address_action(request, act)
