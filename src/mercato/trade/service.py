"""Addresses, the cart, checkout and the trade state machine.

Services flush; the unit of work at the edge commits (DESIGN §4.1). Checkout takes stock
with one conditional UPDATE per row (§4.8) inside a savepoint, so a failing line leaves
nothing behind even if the caller goes on using the session. Every transition checks the
current status first and changes nothing when it is not allowed. Events go to the outbox
and timers to the jobs table, in the same transaction (§4.2).
"""

from __future__ import annotations

import hashlib
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from mercato.accounts import service as accounts
from mercato.catalog.schemas import ONSALE, SKU_NORMAL
from mercato.catalog.service import parse_properties
from mercato.events import jobs, outbox
from mercato.kit.clock import utcnow
from mercato.kit.errors import Conflict, FieldProblem, NotFound, ValidationFailed
from mercato.kit.pagination import Page, PageRequest
from mercato.models import Address, CartLine, Item, Job, Order, Sku, Trade, User
from mercato.payments import service as payments
from mercato.refunds.schemas import OPEN_STATUSES as OPEN_REFUND_STATUSES
from mercato.trade import events as ev
from mercato.trade import policy
from mercato.trade import repository as repo
from mercato.trade.schemas import (
    STATUSES,
    TRADE_CLOSED,
    TRADE_CLOSED_BY_TAOBAO,
    TRADE_FINISHED,
    WAIT_BUYER_CONFIRM_GOODS,
    WAIT_BUYER_PAY,
    WAIT_SELLER_SEND_GOODS,
    AddressInput,
    CartLineView,
    CartShop,
    CartView,
    CheckoutLine,
)

# Timers: the defaults of the settings (``mercato.trade.policy``); callers pass
# ``timeouts=`` (or the older ``close_after`` / ``auto_confirm_after``) to choose others.
CLOSE_UNPAID_AFTER = policy.DEFAULT.close_unpaid
AUTO_CONFIRM_AFTER = policy.DEFAULT.auto_confirm
RECEIVE_EXTENSION = timedelta(days=3)
# A paused auto-confirm timer (an open refund) looks again this often, in case the trade's
# refunds ended by a path that did not resume it.
PAUSED_RECHECK = timedelta(days=1)

CLOSE_UNPAID_JOB = "trade.close_unpaid"
AUTO_CONFIRM_JOB = "trade.auto_confirm"

MAX_LINE_QUANTITY = 999
MAX_CART_LINES = 200
MAX_ADDRESSES = 20
MAX_BUYER_MESSAGE = 500
MAX_MEMO = 1000
MAX_CHECKOUT_KEY = 64
MAX_CLOSE_REASON = 200
PAID_STATUSES = frozenset({WAIT_SELLER_SEND_GOODS, WAIT_BUYER_CONFIRM_GOODS, TRADE_FINISHED})

_MOBILE = re.compile(r"1\d{10}", re.ASCII)
_PHONE = re.compile(r"(\d{3,4}-)?\d{7,8}(-\d{1,6})?", re.ASCII)
_ZIP = re.compile(r"\d{6}", re.ASCII)


def close_job_key(tid: int) -> str:
    return f"close:{tid}"


def confirm_job_key(tid: int) -> str:
    return f"confirm:{tid}"


# ---------------------------------------------------------------- address book


def _check_address(data: AddressInput) -> dict[str, str]:
    problems: list[FieldProblem] = []
    values: dict[str, str] = {}
    limits = {
        "name": 50,
        "state": 32,
        "city": 32,
        "district": 32,
        "address": 200,
    }
    required = {"name", "state", "city", "address"}
    for name, limit in limits.items():
        value = str(getattr(data, name)).strip()
        if name in required and not value:
            problems.append(FieldProblem(name, "required", "is required"))
        elif len(value) > limit:
            problems.append(FieldProblem(name, "max_length", f"at most {limit} characters"))
        values[name] = value
    mobile = data.mobile.strip()
    if not mobile:
        problems.append(FieldProblem("mobile", "required", "is required"))
    elif not (_MOBILE.fullmatch(mobile) or _PHONE.fullmatch(mobile)):
        problems.append(
            FieldProblem("mobile", "phone", "must be 11 digits or a phone like 0571-88886666")
        )
    values["mobile"] = mobile
    zip_code = data.zip.strip()
    if zip_code and not _ZIP.fullmatch(zip_code):
        problems.append(FieldProblem("zip", "zip", "must be 6 digits"))
    values["zip"] = zip_code
    if problems:
        raise ValidationFailed(problems)
    return values


async def add_address(session: AsyncSession, buyer: User, data: AddressInput) -> Address:
    """Add an entry to the buyer's address book; the first entry becomes the default."""
    values = _check_address(data)
    count = await repo.count_addresses(session, buyer.id)
    if count >= MAX_ADDRESSES:
        raise ValidationFailed.one("address", "max_count", f"at most {MAX_ADDRESSES} addresses")
    is_default = data.is_default or count == 0
    if is_default:
        await repo.clear_default_address(session, buyer.id)
    address = Address(user_id=buyer.id, is_default=is_default, **values)
    session.add(address)
    await session.flush()
    return address


async def update_address(
    session: AsyncSession, buyer: User, address_id: int, data: AddressInput
) -> Address:
    address = await _own_address(session, buyer, address_id)
    values = _check_address(data)
    for name, value in values.items():
        setattr(address, name, value)
    if data.is_default and not address.is_default:
        await repo.clear_default_address(session, buyer.id)
        address.is_default = True
    await session.flush()
    return address


async def delete_address(session: AsyncSession, buyer: User, address_id: int) -> None:
    """Remove an entry; when it was the default, the oldest remaining one takes over.
    Trades keep their own copy of the receiver, so deleting never touches them."""
    address = await _own_address(session, buyer, address_id)
    was_default = address.is_default
    await session.delete(address)
    await session.flush()
    if was_default:
        rest = await repo.buyer_addresses(session, buyer.id)
        if rest:
            min(rest, key=lambda a: a.id).is_default = True
            await session.flush()


async def set_default_address(session: AsyncSession, buyer: User, address_id: int) -> Address:
    address = await _own_address(session, buyer, address_id)
    await repo.clear_default_address(session, buyer.id)
    address.is_default = True
    await session.flush()
    return address


async def list_addresses(session: AsyncSession, buyer: User) -> list[Address]:
    """The buyer's address book, the default first."""
    return await repo.buyer_addresses(session, buyer.id)


async def _own_address(session: AsyncSession, buyer: User, address_id: int) -> Address:
    address = await repo.buyer_address(session, buyer.id, address_id)
    if address is None:
        raise NotFound(f"address {address_id} does not exist")
    return address


# ---------------------------------------------------------------- cart


def _check_quantity(quantity: int, field: str) -> None:
    if not 1 <= quantity <= MAX_LINE_QUANTITY:
        raise ValidationFailed.one(field, "quantity", f"must be 1 to {MAX_LINE_QUANTITY}")


async def _buyable(
    session: AsyncSession, buyer: User, item_id: int, sku_id: int, field: str
) -> tuple[Item, Sku | None]:
    """The item (and SKU) a buyer may put in a cart or buy, or a ValidationFailed."""
    item = (await repo.items_by_id(session, [item_id])).get(item_id)
    if item is None or item.approve_status != ONSALE:
        raise ValidationFailed.one(field, "not_on_sale", f"item {item_id} is not on sale")
    if item.seller_id == buyer.id:
        raise ValidationFailed.one(field, "own_item", "you cannot buy from your own shop")
    if sku_id == 0:
        if await repo.item_ids_with_skus(session, [item_id]):
            raise ValidationFailed.one(field, "sku_mismatch", f"choose a SKU of item {item_id}")
        return item, None
    sku = (await repo.skus_by_id(session, [sku_id])).get(sku_id)
    if sku is None or sku.item_id != item_id:
        raise ValidationFailed.one(
            field, "sku_mismatch", f"SKU {sku_id} does not belong to item {item_id}"
        )
    if sku.status != SKU_NORMAL:
        raise ValidationFailed.one(field, "not_on_sale", f"SKU {sku_id} is not on sale")
    return item, sku


async def add_to_cart(
    session: AsyncSession, buyer: User, item_id: int, sku_id: int, quantity: int
) -> CartLine:
    """Put an item (or one SKU of it) in the cart; the same line again adds to its quantity,
    which stays within 1..999."""
    _check_quantity(quantity, "quantity")
    await _buyable(session, buyer, item_id, sku_id, "item_id" if sku_id == 0 else "sku_id")
    line = await repo.cart_line(session, buyer.id, item_id, sku_id)
    if line is None:
        if await repo.count_cart_lines(session, buyer.id) >= MAX_CART_LINES:
            raise ValidationFailed.one(
                "item_id", "max_count", f"a cart holds at most {MAX_CART_LINES} lines"
            )
        line = CartLine(user_id=buyer.id, item_id=item_id, sku_id=sku_id, quantity=quantity)
        session.add(line)
    else:
        _check_quantity(line.quantity + quantity, "quantity")
        line.quantity += quantity
    await session.flush()
    return line


async def update_cart_line(
    session: AsyncSession, buyer: User, line_id: int, quantity: int
) -> CartLine:
    _check_quantity(quantity, "quantity")
    line = await repo.cart_line_by_id(session, buyer.id, line_id)
    if line is None:
        raise NotFound(f"cart line {line_id} does not exist")
    line.quantity = quantity
    await session.flush()
    return line


async def remove_cart_line(session: AsyncSession, buyer: User, line_id: int) -> None:
    line = await repo.cart_line_by_id(session, buyer.id, line_id)
    if line is None:
        raise NotFound(f"cart line {line_id} does not exist")
    await session.delete(line)
    await session.flush()


async def view_cart(session: AsyncSession, buyer: User) -> CartView:
    """The cart grouped by shop with today's prices and stock; lines that cannot be bought
    now carry a ``problem`` instead of disappearing."""
    return await _view_lines(session, await repo.cart_lines(session, buyer.id))


async def view_buy_now(session: AsyncSession, line: CheckoutLine) -> CartView:
    """One line bought straight from the item page ("buy now"), shown like a cart of one;
    an item that does not exist shows as an empty view."""
    return await _view_lines(session, [CartLine(id=0, **line._asdict())])


async def _view_lines(session: AsyncSession, lines: Sequence[CartLine]) -> CartView:
    items = await repo.items_by_id(session, (line.item_id for line in lines))
    skus = await repo.skus_by_id(session, (line.sku_id for line in lines if line.sku_id))
    with_skus = await repo.item_ids_with_skus(session, items)
    shops = await repo.shops_by_id(session, (item.shop_id for item in items.values()))
    names = await _sku_names(session, skus.values())
    groups: dict[int, CartShop] = {}
    for line in lines:
        item = items.get(line.item_id)
        if item is None:  # cascades make this impossible; keeps the type honest
            continue
        sku = skus.get(line.sku_id) if line.sku_id else None
        view = CartLineView(
            line_id=line.id,
            item_id=line.item_id,
            sku_id=line.sku_id,
            quantity=line.quantity,
            title=item.title,
            pic_url=item.pic_url,
            sku_properties_name=names.get(sku.id, "") if sku else "",
            price=sku.price if sku else item.price,
            stock=sku.quantity if sku else item.quantity,
        )
        view.problem = _line_problem(item, sku, line, item.id in with_skus)
        shop = shops.get(item.shop_id)
        group = groups.setdefault(
            item.shop_id,
            CartShop(
                shop_id=item.shop_id,
                shop_title=shop.title if shop else "",
                seller_id=item.seller_id,
            ),
        )
        group.lines.append(view)
    return CartView(shops=list(groups.values()))


def _line_problem(item: Item, sku: Sku | None, line: CartLine, has_skus: bool) -> str | None:
    if item.approve_status != ONSALE:
        return "not_on_sale"
    if line.sku_id == 0:
        if has_skus:
            return "sku_mismatch"
        return "out_of_stock" if item.quantity < line.quantity else None
    if sku is None or sku.item_id != item.id:
        return "sku_mismatch"
    if sku.status != SKU_NORMAL:
        return "not_on_sale"
    return "out_of_stock" if sku.quantity < line.quantity else None


async def _sku_names(session: AsyncSession, skus: Iterable[Sku]) -> dict[int, str]:
    """``"颜色:红色;尺码:M"`` per SKU id, from the prop and value names."""
    parsed = {sku.id: parse_properties(sku.properties) or {} for sku in skus}
    pids = {pid for pairs in parsed.values() for pid in pairs}
    vids = {vid for pairs in parsed.values() for vid in pairs.values()}
    props, values = await repo.prop_names(session, pids, vids)
    return {
        sku_id: ";".join(
            f"{props.get(pid, pid)}:{values.get(vid, vid)}" for pid, vid in pairs.items()
        )
        for sku_id, pairs in parsed.items()
    }


# ---------------------------------------------------------------- checkout


async def checkout(
    session: AsyncSession,
    buyer: User,
    *,
    lines: Sequence[tuple[int, int, int]] | None,
    address_id: int,
    buyer_messages: dict[int, str] | None = None,
    checkout_key: str,
    close_after: timedelta | None = None,
    timeouts: policy.Timeouts | None = None,
) -> list[Trade]:
    """Turn lines (``None``: the whole cart) into one trade per shop, waiting for payment.

    Idempotent per (buyer, checkout_key): a repeat returns the trades made the first time
    and changes nothing. Stock is taken here, line by line with conditional UPDATEs; any
    line that cannot be bought fails the whole checkout with a ValidationFailed naming it
    (``lines.<i>``; rules quantity, not_on_sale, sku_mismatch, out_of_stock) and nothing is
    written. The bought lines leave the cart; each trade records TradeCreate and a timer
    that closes it unpaid after ``close_after`` (default: ``timeouts.close_unpaid``).
    """
    if close_after is None:
        close_after = policy.resolve(timeouts).close_unpaid
    key = checkout_key.strip()
    if not key or len(key) > MAX_CHECKOUT_KEY:
        raise ValidationFailed.one(
            "checkout_key", "length", f"must be 1 to {MAX_CHECKOUT_KEY} characters"
        )
    existing = await repo.checkout_trades(session, buyer.id, key)
    if existing:
        return existing
    wanted = await _checkout_lines(session, buyer, lines)
    address = await repo.buyer_address(session, buyer.id, address_id)
    if address is None:
        raise ValidationFailed.one("address_id", "not_found", f"address {address_id} not found")
    messages = buyer_messages or {}
    for shop_id, message in messages.items():
        if len(message) > MAX_BUYER_MESSAGE:
            raise ValidationFailed.one(
                f"buyer_messages.{shop_id}",
                "max_length",
                f"at most {MAX_BUYER_MESSAGE} characters",
            )
    try:
        async with session.begin_nested():
            return await _create_trades(session, buyer, wanted, address, messages, key, close_after)
    except IntegrityError:
        # The same checkout ran concurrently and won; its trades are the answer.
        existing = await repo.checkout_trades(session, buyer.id, key)
        if existing:
            return existing
        raise


class _Line:
    """A checked line: where it came from (its field), what it buys, and at what price."""

    def __init__(self, field: str, item: Item, sku: Sku | None, quantity: int) -> None:
        self.field = field
        self.item = item
        self.sku = sku
        self.quantity = quantity

    @property
    def sku_id(self) -> int:
        return self.sku.id if self.sku else 0

    @property
    def price(self) -> int:
        return self.sku.price if self.sku else self.item.price


async def _checkout_lines(
    session: AsyncSession, buyer: User, lines: Sequence[tuple[int, int, int]] | None
) -> list[_Line]:
    if lines is None:
        raw = [
            CheckoutLine(line.item_id, line.sku_id, line.quantity)
            for line in await repo.cart_lines(session, buyer.id)
        ]
    else:
        raw = [CheckoutLine(int(a), int(b), int(c)) for a, b, c in lines]
    if not raw:
        raise ValidationFailed.one("lines", "required", "there is nothing to buy")
    problems: list[FieldProblem] = []
    seen: set[tuple[int, int]] = set()
    for i, line in enumerate(raw):
        if not 1 <= line.quantity <= MAX_LINE_QUANTITY:
            problems.append(
                FieldProblem(f"lines.{i}", "quantity", f"must be 1 to {MAX_LINE_QUANTITY}")
            )
        if (line.item_id, line.sku_id) in seen:
            problems.append(FieldProblem(f"lines.{i}", "duplicate", "this line appears twice"))
        seen.add((line.item_id, line.sku_id))
    if problems:
        raise ValidationFailed(problems)
    items = await repo.items_by_id(session, (line.item_id for line in raw))
    skus = await repo.skus_by_id(session, (line.sku_id for line in raw if line.sku_id))
    with_skus = await repo.item_ids_with_skus(session, items)
    out: list[_Line] = []
    for i, line in enumerate(raw):
        field = f"lines.{i}"
        item = items.get(line.item_id)
        sku = skus.get(line.sku_id) if line.sku_id else None
        problem = _buy_problem(buyer, line, item, sku, line.item_id in with_skus)
        if problem is not None:
            problems.append(FieldProblem(field, *problem))
        elif item is not None:
            out.append(_Line(field, item, sku, line.quantity))
    if problems:
        raise ValidationFailed(problems)
    return out


def _buy_problem(
    buyer: User, line: CheckoutLine, item: Item | None, sku: Sku | None, has_skus: bool
) -> tuple[str, str] | None:
    if item is None or item.approve_status != ONSALE:
        return "not_on_sale", f"item {line.item_id} is not on sale"
    if item.seller_id == buyer.id:
        return "own_item", "you cannot buy from your own shop"
    if line.sku_id == 0:
        if has_skus:
            return "sku_mismatch", f"choose a SKU of item {item.id}"
        stock = item.quantity
    else:
        if sku is None or sku.item_id != item.id:
            return "sku_mismatch", f"SKU {line.sku_id} does not belong to item {item.id}"
        if sku.status != SKU_NORMAL:
            return "not_on_sale", f"SKU {sku.id} is not on sale"
        stock = sku.quantity
    if stock < line.quantity:
        return "out_of_stock", f"only {stock} left of item {item.id}"
    return None


async def _create_trades(
    session: AsyncSession,
    buyer: User,
    lines: list[_Line],
    address: Address,
    messages: dict[int, str],
    key: str,
    close_after: timedelta,
) -> list[Trade]:
    stock_events = await _take_stock(session, lines)
    now = utcnow()
    names = await _sku_names(session, (line.sku for line in lines if line.sku))
    by_shop: dict[int, list[_Line]] = defaultdict(list)
    for line in lines:
        by_shop[line.item.shop_id].append(line)
    trades: list[Trade] = []
    for shop_id in sorted(by_shop):
        shop_lines = sorted(by_shop[shop_id], key=lambda x: (x.item.id, x.sku_id))
        orders = [
            Order(
                item_id=line.item.id,
                sku_id=line.sku.id if line.sku else None,
                category_id=line.item.category_id,
                title=line.item.title,
                pic_path=line.item.pic_url,
                sku_properties_name=names.get(line.sku.id, "") if line.sku else "",
                outer_iid=line.item.outer_id,
                outer_sku_id=line.sku.outer_id if line.sku else None,
                price=line.price,
                num=line.quantity,
                total_fee=line.price * line.quantity,
                discount_fee=0,
                adjust_fee=0,
                payment=line.price * line.quantity,
                status=WAIT_BUYER_PAY,
            )
            for line in shop_lines
        ]
        total_fee = sum(order.total_fee for order in orders)
        trade = Trade(
            checkout_key=key,
            buyer_id=buyer.id,
            seller_id=shop_lines[0].item.seller_id,
            shop_id=shop_id,
            type="fixed",
            status=WAIT_BUYER_PAY,
            created=now,
            modified=now,
            timeout_action_time=now + close_after,
            total_fee=total_fee,
            post_fee=0,
            discount_fee=0,
            adjust_fee=0,
            payment=total_fee,
            receiver_name=address.name,
            receiver_mobile=address.mobile,
            receiver_state=address.state,
            receiver_city=address.city,
            receiver_district=address.district,
            receiver_address=address.address,
            receiver_zip=address.zip,
            buyer_message=messages.get(shop_id, "").strip(),
            event_seq=0,
            orders=orders,
        )
        session.add(trade)
        trades.append(trade)
    await session.flush()
    await repo.remove_cart_lines(session, buyer.id, ((x.item.id, x.sku_id) for x in lines))
    nicks = await accounts.nicks(session, {t.seller_id for t in trades})
    for trade in trades:
        await _trade_event(session, trade, ev.TRADE_CREATE, buyer.nick, nicks[trade.seller_id])
        await jobs.schedule(
            session,
            kind=CLOSE_UNPAID_JOB,
            key=close_job_key(trade.id),
            run_at=now + close_after,
            payload={"tid": trade.id},
        )
    for item, content in stock_events:
        await _stock_event(session, item, content, nicks.get(item.seller_id))
    await session.flush()
    return trades


async def _take_stock(
    session: AsyncSession, lines: list[_Line]
) -> list[tuple[Item, dict[str, Any]]]:
    """Take each line's stock: per item (in id order) the item row, then its SKU rows.
    Returns the stock-changed event bodies, one per item."""
    by_item: dict[int, list[_Line]] = defaultdict(list)
    for line in lines:
        by_item[line.item.id].append(line)
    changes: list[tuple[Item, dict[str, Any]]] = []
    for item_id in sorted(by_item):
        item_lines = sorted(by_item[item_id], key=lambda x: x.sku_id)
        item = item_lines[0].item
        total = sum(line.quantity for line in item_lines)
        taken = await repo.take_item_stock(session, item_id, total)
        if taken is None:
            raise ValidationFailed.one(
                item_lines[0].field, "out_of_stock", f"not enough stock of item {item_id}"
            )
        left, seq = taken
        set_committed_value(item, "quantity", left)
        sku_id: int | None = None
        sku_left: int | None = None
        for line in item_lines:
            if line.sku is None:
                continue
            sku_left = await repo.take_sku_stock(session, item_id, line.sku.id, line.quantity)
            if sku_left is None:
                raise ValidationFailed.one(
                    line.field, "out_of_stock", f"not enough stock of SKU {line.sku.id}"
                )
            set_committed_value(line.sku, "quantity", sku_left)
            sku_id = line.sku.id
        changes.append(
            (
                item,
                {
                    "num": left,
                    "sku_id": sku_id,
                    "sku_num": sku_left,
                    "increment": -total,
                    "seq": seq,
                },
            )
        )
    return changes


async def _stock_event(
    session: AsyncSession, item: Item, change: dict[str, Any], nick: str | None
) -> None:
    content = ev.stock_content(
        item,
        nick=nick or "",
        num=change["num"],
        sku_id=change["sku_id"],
        sku_num=change["sku_num"],
        increment=change["increment"],
    )
    await outbox.record_event(
        session,
        topic=ev.ITEM_STOCK_CHANGED,
        subject=ev.item_subject(item.id),
        seq=change["seq"],
        user_id=item.seller_id,
        user_nick=nick,
        content=content,
    )


async def _trade_event(
    session: AsyncSession,
    trade: Trade,
    topic: str,
    buyer_nick: str | None = None,
    seller_nick: str | None = None,
    **extra: Any,
) -> None:
    """Record a trade event with the trade's next sequence number."""
    if buyer_nick is None or seller_nick is None:
        nicks = await accounts.nicks(session, {trade.buyer_id, trade.seller_id})
        buyer_nick = buyer_nick or nicks.get(trade.buyer_id, "")
        seller_nick = seller_nick or nicks.get(trade.seller_id, "")
    trade.event_seq = (trade.event_seq or 0) + 1
    content = ev.trade_content(trade, buyer_nick=buyer_nick, seller_nick=seller_nick)
    content.update(extra)
    await outbox.record_event(
        session,
        topic=topic,
        subject=ev.trade_subject(trade.id),
        seq=trade.event_seq,
        user_id=trade.seller_id,
        user_nick=seller_nick,
        content=content,
    )


# ---------------------------------------------------------------- state machine


def _illegal(trade: Trade, to: str) -> Conflict:
    return Conflict(
        f"trade {trade.id} cannot go from {trade.status} to {to}", code="illegal_transition"
    )


def _set_status(trade: Trade, status: str, now: Any) -> None:
    trade.status = status
    trade.modified = now
    for order in trade.orders:
        order.status = status


async def _buyer_trade(session: AsyncSession, buyer: User, tid: int) -> Trade:
    trade = await repo.buyer_trade(session, buyer.id, tid, for_update=True)
    if trade is None:
        raise NotFound(f"trade {tid} does not exist")
    return trade


async def _seller_trade(session: AsyncSession, seller: User, tid: int) -> Trade:
    trade = await repo.seller_trade(session, seller.id, tid, for_update=True)
    if trade is None:
        raise NotFound(f"trade {tid} does not exist")
    return trade


def wallet_pay_key(tids: Sequence[int]) -> str:
    """The idempotency key of paying these trades from the wallet: the trades themselves,
    so paying them twice charges once. A long list is hashed (keys hold 64 characters)."""
    text = ",".join(str(tid) for tid in sorted(set(tids)))
    if len(text) > payments.MAX_EXTERNAL_REF_LENGTH - len("pay:"):
        text = "sha256:" + hashlib.sha256(text.encode()).hexdigest()[:48]
    return "pay:" + text


async def pay(
    session: AsyncSession, buyer: User, tids: Sequence[int], *, channel: str = "wallet", key: str
) -> list[Trade] | payments.Payment:
    """Pay the buyer's unpaid trades in one payment, idempotent by ``key``.

    ``wallet``: one charge into escrow, the trades are paid now; returns them. ``sandbox``:
    opens a pending payment at the external channel and returns it; the trades stay
    WAIT_BUYER_PAY until the channel's callback (``mark_paid``). Every trade must be
    waiting for payment, otherwise nothing is charged or changed — except that a retry
    with the key of a payment already made answers as the first call did.
    """
    # The sandbox module builds on payments.service; imported here to keep this change
    # inside pay.
    from mercato.payments import sandbox

    if channel not in payments.CHANNELS:
        raise ValidationFailed.one("channel", "choice", "pay from the wallet or the sandbox")
    wanted = sorted(set(tids))
    if not wanted:
        raise ValidationFailed.one("tids", "required", "choose trades to pay")
    trades = await repo.buyer_trades_for_update(session, buyer.id, wanted)
    if len(trades) != len(wanted):
        missing = sorted(set(wanted) - {t.id for t in trades})
        raise NotFound(f"trade {missing[0]} does not exist")
    amount = sum(trade.payment for trade in trades)
    # Looked up after the trade locks, so a concurrent call with the same key waits and
    # then finds the payment the first one committed.
    earlier = await payments.earlier_payment(
        session, channel=channel, key=key, buyer_id=buyer.id, amount=amount, trade_ids=wanted
    )
    if earlier is not None:
        return trades if channel == "wallet" else earlier
    for trade in trades:
        if trade.status != WAIT_BUYER_PAY:
            raise _illegal(trade, WAIT_SELLER_SEND_GOODS)
    if channel == "sandbox":
        return await sandbox.start_sandbox(
            session,
            buyer.id,
            amount,
            trade_ids=wanted,
            key=key,
            trade_amounts=[trade.payment for trade in trades],
        )
    await payments.charge_wallet(
        session,
        buyer.id,
        amount,
        trade_ids=wanted,
        key=key,
        trade_amounts=[trade.payment for trade in trades],  # each trade's escrow
    )
    for trade in trades:
        await _paid(session, trade)
    await session.flush()
    return trades


async def mark_paid(
    session: AsyncSession, trade_ids: Sequence[int], *, payment: payments.Payment | None = None
) -> list[Trade]:
    """Mark trades paid once their money is in (the asynchronous sandbox channel).
    Already-paid trades are left alone; returns the trades it paid. A closed trade cannot
    be paid: Conflict, and nothing changes.

    ``payment`` is the payment whose money has just come in for exactly these trades (the
    callback passes it). The channel has already moved that money, so it cannot be
    refused: when any of the trades no longer waits for payment (closed meanwhile, or paid
    another way), the whole payment goes back where it came from
    (``payments.return_payment``), no trade changes, and the result is empty.
    """
    trades = await repo.trades_for_update(session, sorted(set(trade_ids)))
    if len(trades) != len(set(trade_ids)):
        raise NotFound("a trade to mark paid does not exist")
    if payment is not None and any(trade.status != WAIT_BUYER_PAY for trade in trades):
        await payments.return_payment(session, payment)
        return []
    for trade in trades:
        if trade.status not in PAID_STATUSES and trade.status != WAIT_BUYER_PAY:
            raise _illegal(trade, WAIT_SELLER_SEND_GOODS)
    paid = [trade for trade in trades if trade.status == WAIT_BUYER_PAY]
    for trade in paid:
        await _paid(session, trade)
    await session.flush()
    return paid


async def _paid(session: AsyncSession, trade: Trade) -> None:
    now = utcnow()
    _set_status(trade, WAIT_SELLER_SEND_GOODS, now)
    trade.pay_time = now
    trade.timeout_action_time = None
    sold: dict[int, int] = defaultdict(int)
    for order in trade.orders:
        sold[order.item_id] += order.num
    for item_id in sorted(sold):  # stock stays taken; only the sales count moves
        await repo.add_sold(session, item_id, sold[item_id])
    await jobs.cancel(session, close_job_key(trade.id))
    await _trade_event(session, trade, ev.TRADE_BUYER_PAY)


async def cancel_unpaid(session: AsyncSession, buyer: User, tid: int) -> Trade:
    """The buyer gives up an unpaid trade: it closes and its stock goes back."""
    trade = await _buyer_trade(session, buyer, tid)
    await _close_unpaid(session, trade)
    return trade


async def close_by_seller(session: AsyncSession, seller: User, tid: int, *, reason: str) -> Trade:
    """The seller closes one of their unpaid trades (TOP's ``trade.close``): the same rule
    and effect as the buyer's cancel, TRADE_CLOSED_BY_TAOBAO with the stock given back.
    ``reason`` (``close_reason``, at most 200 characters) is required."""
    reason = reason.strip()
    if not reason:
        raise ValidationFailed.one("close_reason", "required", "is required")
    if len(reason) > MAX_CLOSE_REASON:
        raise ValidationFailed.one(
            "close_reason", "max_length", f"at most {MAX_CLOSE_REASON} characters"
        )
    trade = await _seller_trade(session, seller, tid)
    await _close_unpaid(session, trade)
    return trade


async def _close_unpaid(session: AsyncSession, trade: Trade) -> None:
    """Only an unpaid trade can be closed by its buyer or seller."""
    if trade.status != WAIT_BUYER_PAY:
        raise _illegal(trade, TRADE_CLOSED_BY_TAOBAO)
    await _close(session, trade)


async def close_unpaid_timeout(session: AsyncSession, tid: int) -> Trade | None:
    """The timer's close: a trade still unpaid closes and gives its stock back; any other
    trade (paid, closed, gone) is left alone, so the timer may run any number of times."""
    trades = await repo.trades_for_update(session, [tid])
    if not trades or trades[0].status != WAIT_BUYER_PAY:
        return None
    await _close(session, trades[0])
    return trades[0]


async def _close(session: AsyncSession, trade: Trade) -> None:
    now = utcnow()
    _set_status(trade, TRADE_CLOSED_BY_TAOBAO, now)
    trade.end_time = now
    trade.timeout_action_time = None
    for order in trade.orders:
        order.end_time = now
    await _give_back(session, trade)
    await jobs.cancel(session, close_job_key(trade.id))
    await _trade_event(session, trade, ev.TRADE_CLOSE)
    await session.flush()


async def _give_back(session: AsyncSession, trade: Trade) -> None:
    """Return an order's stock: per item (in id order) the item row, then its SKU rows,
    the same lock order as checkout."""
    by_item: dict[int, list[Order]] = defaultdict(list)
    for order in trade.orders:
        by_item[order.item_id].append(order)
    items = await repo.items_by_id(session, by_item)
    nicks = await accounts.nicks(session, {trade.seller_id})
    for item_id in sorted(by_item):
        orders = sorted(by_item[item_id], key=lambda o: o.sku_id or 0)
        total = sum(order.num for order in orders)
        left, seq = await repo.give_item_stock(session, item_id, total)
        sku_id: int | None = None
        sku_left: int | None = None
        for order in orders:
            if order.sku_id:
                sku_left = await repo.give_sku_stock(session, order.sku_id, order.num)
                sku_id = order.sku_id
        item = items[item_id]
        set_committed_value(item, "quantity", left)
        change = {
            "num": left,
            "sku_id": sku_id,
            "sku_num": sku_left,
            "increment": total,
            "seq": seq,
        }
        await _stock_event(session, item, change, nicks.get(trade.seller_id))


async def ship(
    session: AsyncSession,
    seller: User,
    tid: int,
    *,
    company: str | None = None,
    invoice_no: str | None = None,
    auto_confirm_after: timedelta | None = None,
    timeouts: policy.Timeouts | None = None,
) -> Trade:
    """The seller has sent a paid trade: it waits for the buyer to confirm receipt, and
    confirms itself after ``auto_confirm_after`` (default: ``timeouts.auto_confirm``).
    Carriers and waybill numbers are validated by the logistics service before it calls
    this. An order with an open refund starts the timer paused."""
    if auto_confirm_after is None:
        auto_confirm_after = policy.resolve(timeouts).auto_confirm
    trade = await _seller_trade(session, seller, tid)
    if trade.status != WAIT_SELLER_SEND_GOODS:
        raise _illegal(trade, WAIT_BUYER_CONFIRM_GOODS)
    now = utcnow()
    _set_status(trade, WAIT_BUYER_CONFIRM_GOODS, now)
    trade.consign_time = now
    trade.timeout_action_time = now + auto_confirm_after
    for order in trade.orders:
        order.consign_time = now
        order.logistics_company = company
        order.invoice_no = invoice_no
    await _schedule_confirm(session, trade, trade.timeout_action_time, extended=False)
    if has_open_refund(trade):
        await pause_auto_confirm(session, trade)
    await _trade_event(session, trade, ev.TRADE_SELLER_SHIP, seller_nick=seller.nick)
    await session.flush()
    return trade


async def confirm_receipt(session: AsyncSession, buyer: User, tid: int) -> Trade:
    """The buyer has the goods: the trade finishes and the seller is paid, less commission."""
    trade = await _buyer_trade(session, buyer, tid)
    if trade.status != WAIT_BUYER_CONFIRM_GOODS:
        raise _illegal(trade, TRADE_FINISHED)
    await _finish(session, trade)
    return trade


async def auto_confirm_timeout(
    session: AsyncSession, tid: int, *, timeouts: policy.Timeouts | None = None
) -> Trade | None:
    """The timer's confirm: a shipped trade finishes; any other is left alone.

    While an order of the trade has an open refund the timer is paused instead: the trade
    is not finished, and the job looks again later (``PAUSED_RECHECK``). A paused job
    that finds no open refund any more resumes the timer with the time it had left.
    Returns the trade when it finished."""
    trades = await repo.trades_for_update(session, [tid])
    if not trades or trades[0].status != WAIT_BUYER_CONFIRM_GOODS:
        return None
    trade = trades[0]
    if has_open_refund(trade):
        if not await pause_auto_confirm(session, trade):
            job = await _confirm_job(session, trade.id)
            payload = dict(job.payload) if job is not None else {"tid": trade.id}
            await jobs.schedule(
                session,
                kind=AUTO_CONFIRM_JOB,
                key=confirm_job_key(trade.id),
                run_at=utcnow() + PAUSED_RECHECK,
                payload=payload,
            )
        return None
    if trade.timeout_action_time is None:  # paused, and its refunds ended meanwhile
        await resume_auto_confirm(session, trade, timeouts)
        return None
    await _finish(session, trade)
    return trade


def has_open_refund(trade: Trade) -> bool:
    """Whether an order of the trade has a refund in progress (orders mirror the status of
    their latest refund)."""
    return any(order.refund_status in OPEN_REFUND_STATUSES for order in trade.orders)


async def _confirm_job(session: AsyncSession, tid: int) -> Job | None:
    return await session.scalar(select(Job).where(Job.key == confirm_job_key(tid)))


async def _schedule_confirm(
    session: AsyncSession,
    trade: Trade,
    run_at: datetime,
    *,
    extended: bool,
    paused_remaining: float | None = None,
) -> None:
    """(Re)schedule the auto-confirm job. Its payload keeps what the trade has no column
    for: whether the buyer extended the wait, and while paused, the seconds it had left."""
    payload: dict[str, Any] = {"tid": trade.id, "extended": extended}
    if paused_remaining is not None:
        payload["paused_remaining"] = paused_remaining
    await jobs.schedule(
        session,
        kind=AUTO_CONFIRM_JOB,
        key=confirm_job_key(trade.id),
        run_at=run_at,
        payload=payload,
    )


def _was_extended(trade: Trade, job: Job | None) -> bool:
    if job is not None and "extended" in job.payload:
        return bool(job.payload["extended"])
    # A job scheduled before the flag existed: judge by the deadline, as before.
    return (
        trade.consign_time is not None
        and trade.timeout_action_time is not None
        and trade.timeout_action_time - trade.consign_time > policy.current().auto_confirm
    )


async def pause_auto_confirm(session: AsyncSession, trade: Trade) -> bool:
    """A refund opened on a shipped trade: stop the auto-confirm clock. The time left goes
    into the job's payload, the trade's ``timeout_action_time`` is cleared (nothing will
    happen at a set time) and the job only re-checks now and then. The caller holds the
    trade's lock. False when there is nothing to pause (not shipped, already paused)."""
    if trade.status != WAIT_BUYER_CONFIRM_GOODS or trade.timeout_action_time is None:
        return False
    now = utcnow()
    remaining = max(trade.timeout_action_time - now, timedelta())
    job = await _confirm_job(session, trade.id)
    extended = _was_extended(trade, job)
    trade.timeout_action_time = None
    await _schedule_confirm(
        session,
        trade,
        now + max(remaining, PAUSED_RECHECK),
        extended=extended,
        paused_remaining=remaining.total_seconds(),
    )
    return True


async def resume_auto_confirm(
    session: AsyncSession, trade: Trade, timeouts: policy.Timeouts | None = None
) -> bool:
    """The trade's last open refund ended and it still waits for the buyer: the paused
    auto-confirm timer runs again with the time it had left, at least
    ``timeouts.confirm_resume_min``. The caller holds the trade's lock. False when there is
    nothing to resume (not shipped, not paused, another refund still open)."""
    if (
        trade.status != WAIT_BUYER_CONFIRM_GOODS
        or trade.timeout_action_time is not None
        or has_open_refund(trade)
    ):
        return False
    limits = policy.resolve(timeouts)
    job = await _confirm_job(session, trade.id)
    payload = job.payload if job is not None else {}
    remaining = timedelta(seconds=float(payload.get("paused_remaining", 0)))
    now = utcnow()
    trade.timeout_action_time = now + max(remaining, limits.confirm_resume_min)
    trade.modified = now
    await _schedule_confirm(
        session, trade, trade.timeout_action_time, extended=bool(payload.get("extended"))
    )
    return True


async def _finish(session: AsyncSession, trade: Trade) -> None:
    now = utcnow()
    _set_status(trade, TRADE_FINISHED, now)
    trade.end_time = now
    trade.timeout_action_time = None
    # Refunds may have taken part of the escrow: release what remains, with commission
    # only on what each order still keeps.
    refunded = await refunded_by_order(session, trade.id)
    commission = 0
    for order in trade.orders:
        order.end_time = now
        rate = await payments.commission_rate(session, order.category_id)
        kept = max(order.payment - refunded.get(order.id, 0), 0)
        commission += payments.commission_for(kept, rate)
    held = await payments.escrow_held(session, trade.id)
    commission = min(commission, held)
    trade.commission_fee = commission
    if held > 0:
        await payments.release_to_seller(
            session,
            trade_id=trade.id,
            seller_id=trade.seller_id,
            amount=held,
            commission=commission,
        )
    await jobs.cancel(session, confirm_job_key(trade.id))
    await _trade_event(session, trade, ev.TRADE_SUCCESS)
    await session.flush()


# ---------------------------------------------------------------- seller and buyer edits


async def update_memo(
    session: AsyncSession, seller: User, tid: int, *, memo: str | None, flag: int | None
) -> Trade:
    """The seller's private note and colour flag (0 none, 1–5 red, yellow, green, blue,
    purple) on one of their trades, whatever its status."""
    if memo is not None and len(memo) > MAX_MEMO:
        raise ValidationFailed.one("memo", "max_length", f"at most {MAX_MEMO} characters")
    if flag is not None and not 0 <= flag <= 5:
        raise ValidationFailed.one("flag", "choice", "must be 0 to 5")
    trade = await _seller_trade(session, seller, tid)
    if memo is not None:
        trade.seller_memo = memo
    if flag is not None:
        trade.seller_flag = flag
    trade.modified = utcnow()
    await _trade_event(session, trade, ev.TRADE_MEMO_MODIFIED, seller_nick=seller.nick)
    await session.flush()
    return trade


async def adjust_price(session: AsyncSession, seller: User, tid: int, payment: int) -> Trade:
    """Before payment the seller may change what the buyer pays (in fen, at least 0.01);
    the difference is the trade's ``adjust_fee``, spread over its orders."""
    if payment < 1:
        raise ValidationFailed.one("payment", "min", "must be at least 0.01")
    trade = await _seller_trade(session, seller, tid)
    if trade.status != WAIT_BUYER_PAY:
        raise Conflict(
            f"trade {trade.id} is {trade.status}; only an unpaid trade's price can change",
            code="illegal_transition",
        )
    base = trade.total_fee + trade.post_fee - trade.discount_fee
    trade.adjust_fee = payment - base
    trade.payment = payment
    trade.modified = utcnow()
    _spread_adjust(trade)
    await _trade_event(session, trade, ev.TRADE_MODIFY_FEE, seller_nick=seller.nick)
    await session.flush()
    return trade


def _spread_adjust(trade: Trade) -> None:
    """Share the trade's adjust_fee among its orders in proportion to their totals; the
    last order takes the rounding, so the orders add up to the trade."""
    orders = trade.orders
    left = trade.adjust_fee
    for i, order in enumerate(orders):
        if i == len(orders) - 1:
            share = left
        else:
            share = trade.adjust_fee * order.total_fee // max(trade.total_fee, 1)
        left -= share
        order.adjust_fee = share
        order.payment = order.total_fee - order.discount_fee + share
    if len(orders) == 1:  # TOP: a single order pays what the trade pays
        orders[0].payment = trade.payment


async def change_address(session: AsyncSession, buyer: User, tid: int, address_id: int) -> Trade:
    """Before shipping the buyer may send a trade to another address of theirs."""
    trade = await _buyer_trade(session, buyer, tid)
    _check_address_changeable(trade)
    address = await repo.buyer_address(session, buyer.id, address_id)
    if address is None:
        raise ValidationFailed.one("address_id", "not_found", f"address {address_id} not found")
    _set_receiver(
        trade,
        {
            "name": address.name,
            "mobile": address.mobile,
            "state": address.state,
            "city": address.city,
            "district": address.district,
            "address": address.address,
            "zip": address.zip,
        },
    )
    await _trade_event(session, trade, ev.TRADE_ADDRESS_CHANGED, buyer_nick=buyer.nick)
    await session.flush()
    return trade


def _check_address_changeable(trade: Trade) -> None:
    """The receiver may change only before shipping (buyer's and seller's rule alike)."""
    if trade.status not in (WAIT_BUYER_PAY, WAIT_SELLER_SEND_GOODS):
        raise Conflict(
            f"trade {trade.id} is {trade.status}; the address can change only before shipping",
            code="illegal_transition",
        )


def _set_receiver(trade: Trade, values: dict[str, str]) -> None:
    trade.receiver_name = values["name"]
    trade.receiver_mobile = values["mobile"]
    trade.receiver_state = values["state"]
    trade.receiver_city = values["city"]
    trade.receiver_district = values["district"]
    trade.receiver_address = values["address"]
    trade.receiver_zip = values["zip"]
    trade.modified = utcnow()


async def extend_receive_time(
    session: AsyncSession, buyer: User, tid: int, *, extra: timedelta = RECEIVE_EXTENSION
) -> Trade:
    """Once per trade, the buyer may push the automatic confirmation back (3 days); not
    while a refund has the timer paused."""
    trade = await _buyer_trade(session, buyer, tid)
    deadline = _receive_deadline(trade)
    job = await _confirm_job(session, trade.id)
    if _was_extended(trade, job):
        raise Conflict(f"trade {trade.id} was already extended", code="already_extended")
    trade.timeout_action_time = deadline + extra
    trade.modified = utcnow()
    await _schedule_confirm(session, trade, deadline + extra, extended=True)
    await _trade_event(session, trade, ev.TRADE_CHANGED, buyer_nick=buyer.nick)
    await session.flush()
    return trade


def _receive_deadline(trade: Trade) -> datetime:
    """When receipt confirms itself, for a trade that may wait longer: only a shipped trade
    whose receipt timer runs (not while a refund has the timer paused)."""
    if trade.status == WAIT_BUYER_CONFIRM_GOODS and trade.timeout_action_time is None:
        raise Conflict(
            f"trade {trade.id} has an open refund; its receipt timer is paused",
            code="illegal_transition",
        )
    if trade.status != WAIT_BUYER_CONFIRM_GOODS or trade.timeout_action_time is None:
        raise Conflict(
            f"trade {trade.id} is {trade.status}; only a shipped trade can wait longer",
            code="illegal_transition",
        )
    return trade.timeout_action_time


# ---------------------------------------------------------------- reads


def _statuses(status: str | None) -> list[str] | None:
    if status is None or status == "":
        return None
    if status not in STATUSES:
        raise ValidationFailed.one("status", "choice", f"unknown status {status}")
    return [status]


async def my_trades(
    session: AsyncSession, buyer: User, status: str | None, page: PageRequest
) -> Page[Trade]:
    """The buyer's trades, newest first, optionally of one status."""
    return await repo.list_trades(session, buyer_id=buyer.id, statuses=_statuses(status), page=page)


async def sold_trades(
    session: AsyncSession, seller: User, status: str | None, page: PageRequest
) -> Page[Trade]:
    """The seller's trades, newest first, optionally of one status."""
    return await repo.list_trades(
        session, seller_id=seller.id, statuses=_statuses(status), page=page
    )


async def get_buyer_trade(session: AsyncSession, buyer: User, tid: int) -> Trade:
    trade = await repo.buyer_trade(session, buyer.id, tid)
    if trade is None:
        raise NotFound(f"trade {tid} does not exist")
    return trade


async def get_seller_trade(session: AsyncSession, seller: User, tid: int) -> Trade:
    trade = await repo.seller_trade(session, seller.id, tid)
    if trade is None:
        raise NotFound(f"trade {tid} does not exist")
    return trade


# ---------------------------------------------------------------- refunds


async def refunded_by_order(session: AsyncSession, tid: int) -> dict[int, int]:
    """Fen refunded (refunds in SUCCESS) per order of a trade."""
    return await repo.refunded_by_order(session, tid)


async def close_after_refund(session: AsyncSession, trade: Trade) -> None:
    """Every order of a paid (or finished) trade was refunded in full: the trade closes
    (TRADE_CLOSED), its auto-confirm timer goes, and stock comes back if it never shipped.
    The caller (the refunds service) holds the trade's lock and has checked the refunds."""
    now = utcnow()
    shipped = trade.consign_time is not None
    _set_status(trade, TRADE_CLOSED, now)
    trade.end_time = now
    trade.timeout_action_time = None
    for order in trade.orders:
        order.end_time = now
    if not shipped:
        await _give_back(session, trade)
    await jobs.cancel(session, confirm_job_key(trade.id))
    await _trade_event(session, trade, ev.TRADE_CLOSE)
    await session.flush()


# ---------------------------------------------------------------- open-platform operations
#
# What TOP's trade methods need beyond the pages: searches with TOP's filters, a trade
# read by either party, and the seller-side address change and receipt delay.

# TOP's query alias statuses, and the TOP statuses Mercato never produces (valid values
# that simply match nothing).
STATUS_ALIASES: dict[str, tuple[str, ...]] = {
    "ALL_WAIT_PAY": (WAIT_BUYER_PAY,),
    "ALL_CLOSED": (TRADE_CLOSED, TRADE_CLOSED_BY_TAOBAO),
}
TOP_ONLY_STATUSES = frozenset(
    {
        "TRADE_NO_CREATE_PAY",
        "SELLER_CONSIGNED_PART",
        "TRADE_BUYER_SIGNED",
        "PAY_PENDING",
        "WAIT_PRE_AUTH_CONFIRM",
        "PAID_FORBID_CONSIGN",
    }
)
# TOP's trade types (§9.1); ``guarantee_trade`` is a query alias of fixed and auction.
TRADE_TYPES = frozenset(
    {
        "fixed", "auction", "guarantee_trade", "step", "independent_simple_trade",
        "independent_shop_trade", "auto_delivery", "ec", "cod", "fenxiao", "game_equipment",
        "shopex_trade", "netcn_trade", "external_trade", "instant_trade", "b2c_cod",
        "hotel_trade", "super_market_trade", "super_market_cod_trade", "taohua", "waimai",
        "o2o_offlinetrade", "nopaid", "eticket", "tmall_i18n", "insurance_plus", "finance",
        "pre_auth_type", "lazada",
    }
)  # fmt: skip
TYPE_ALIASES: dict[str, tuple[str, ...]] = {"guarantee_trade": ("fixed", "auction")}
INCREMENT_WINDOW = timedelta(days=1)
RECEIVE_DELAY_DAYS = (3, 5, 7, 10)


@dataclass(frozen=True)
class TradeSearch:
    """A trade search in TOP's terms; each attribute is named after its TOP parameter, so
    a ValidationFailed names the parameter."""

    status: str | None = None
    type: Sequence[str] = ()
    buyer_nick: str | None = None
    seller_nick: str | None = None
    rate_status: str | None = None
    start_created: datetime | None = None
    end_created: datetime | None = None
    start_modified: datetime | None = None
    end_modified: datetime | None = None


def _trade_filter(search: TradeSearch, order_by: str) -> repo.TradeFilter:
    statuses: list[str] | None = None
    if search.status:
        if search.status in STATUSES:
            statuses = [search.status]
        elif search.status in STATUS_ALIASES:
            statuses = list(STATUS_ALIASES[search.status])
        elif search.status in TOP_ONLY_STATUSES:
            statuses = []
        else:
            raise ValidationFailed.one("status", "choice", f"unknown status {search.status}")
    types: list[str] | None = None
    if search.type:
        types = []
        for name in search.type:
            if name not in TRADE_TYPES:
                raise ValidationFailed.one("type", "choice", f"unknown trade type {name}")
            types.extend(TYPE_ALIASES.get(name, (name,)))
    if search.rate_status and search.rate_status not in repo.RATE_FILTERS:
        raise ValidationFailed.one(
            "rate_status", "choice", f"unknown rate status {search.rate_status}"
        )
    for start, end, field in (
        (search.start_created, search.end_created, "end_created"),
        (search.start_modified, search.end_modified, "end_modified"),
    ):
        if start is not None and end is not None and end < start:
            raise ValidationFailed.one(field, "range", "must not be before the start")
    return repo.TradeFilter(
        statuses=statuses,
        types=types,
        buyer_nick=search.buyer_nick or None,
        seller_nick=search.seller_nick or None,
        rate_status=search.rate_status or None,
        created_from=search.start_created,
        created_to=search.end_created,
        modified_from=search.start_modified,
        modified_to=search.end_modified,
        order_by=order_by,
    )


async def search_sold_trades(
    session: AsyncSession, seller: User, search: TradeSearch, page: PageRequest
) -> Page[Trade]:
    """The seller's trades matching TOP's filters, newest created first."""
    where = _trade_filter(search, "created")
    return await repo.search_trades(session, seller_id=seller.id, where=where, page=page)


async def search_bought_trades(
    session: AsyncSession, buyer: User, search: TradeSearch, page: PageRequest
) -> Page[Trade]:
    """The buyer's trades matching TOP's filters, newest created first."""
    where = _trade_filter(search, "created")
    return await repo.search_trades(session, buyer_id=buyer.id, where=where, page=page)


async def changed_sold_trades(
    session: AsyncSession, seller: User, search: TradeSearch, page: PageRequest
) -> Page[Trade]:
    """The seller's trades modified within ``start_modified``..``end_modified`` (both
    required, at most one day apart), most recently modified first."""
    if search.start_modified is None:
        raise ValidationFailed.one("start_modified", "missing", "start_modified is required")
    if search.end_modified is None:
        raise ValidationFailed.one("end_modified", "missing", "end_modified is required")
    if search.end_modified - search.start_modified > INCREMENT_WINDOW:
        raise ValidationFailed.one(
            "end_modified", "range", "end_modified is at most one day after start_modified"
        )
    where = _trade_filter(search, "modified")
    return await repo.search_trades(session, seller_id=seller.id, where=where, page=page)


async def get_party_trade(session: AsyncSession, user: User, tid: int) -> Trade:
    """A trade its buyer or its seller may read; NotFound for anyone else."""
    trade = await repo.party_trade(session, user.id, tid)
    if trade is None:
        raise NotFound(f"trade {tid} does not exist")
    return trade


async def shop_titles(session: AsyncSession, shop_ids: Iterable[int]) -> dict[int, str]:
    """Shop titles by id, for showing which shop sold a trade."""
    return {sid: shop.title for sid, shop in (await repo.shops_by_id(session, shop_ids)).items()}


async def seller_change_address(
    session: AsyncSession,
    seller: User,
    tid: int,
    *,
    name: str | None = None,
    mobile: str | None = None,
    phone: str | None = None,
    state: str | None = None,
    city: str | None = None,
    district: str | None = None,
    address: str | None = None,
    zip_code: str | None = None,
) -> Trade:
    """Before shipping the seller may correct the receiver (TOP's
    ``trade.shippingaddress.update``): the given fields replace the trade's, the result
    must pass the address book's rules, and problems name the ``receiver_*`` parameter.
    ``phone`` stands in for ``mobile`` when only it is given (one contact number is kept)."""
    given = {
        "name": name,
        "mobile": mobile if mobile is not None else phone,
        "state": state,
        "city": city,
        "district": district,
        "address": address,
        "zip": zip_code,
    }
    if all(value is None for value in given.values()):
        raise ValidationFailed.one("receiver_name", "missing", "give a receiver field to change")
    trade = await _seller_trade(session, seller, tid)
    _check_address_changeable(trade)
    current = {
        "name": trade.receiver_name,
        "mobile": trade.receiver_mobile,
        "state": trade.receiver_state,
        "city": trade.receiver_city,
        "district": trade.receiver_district,
        "address": trade.receiver_address,
        "zip": trade.receiver_zip,
    }
    merged = {k: (v if v is not None else current[k]) for k, v in given.items()}
    try:
        values = _check_address(AddressInput.model_validate(merged))
    except ValidationFailed as exc:
        contact = "receiver_mobile" if mobile is not None or phone is None else "receiver_phone"
        raise ValidationFailed(
            [
                FieldProblem(
                    contact if p.field == "mobile" else f"receiver_{p.field}", p.rule, p.message
                )
                for p in exc.problems
            ]
        ) from None
    _set_receiver(trade, values)
    await _trade_event(session, trade, ev.TRADE_ADDRESS_CHANGED, seller_nick=seller.nick)
    await session.flush()
    return trade


async def delay_receive_time(session: AsyncSession, seller: User, tid: int, *, days: int) -> Trade:
    """The seller gives the buyer longer before receipt confirms itself (TOP's
    ``trade.receivetime.delay``; 3, 5, 7 or 10 days). Same rule as the buyer's extension
    (a shipped trade whose timer runs); it does not use up the buyer's own extension."""
    if days not in RECEIVE_DELAY_DAYS:
        raise ValidationFailed.one("days", "choice", "must be 3, 5, 7 or 10")
    trade = await _seller_trade(session, seller, tid)
    deadline = _receive_deadline(trade) + timedelta(days=days)
    job = await _confirm_job(session, trade.id)
    extended = _was_extended(trade, job)
    trade.timeout_action_time = deadline
    trade.modified = utcnow()
    await _schedule_confirm(session, trade, deadline, extended=extended)
    await _trade_event(session, trade, ev.TRADE_CHANGED, seller_nick=seller.nick)
    await session.flush()
    return trade
