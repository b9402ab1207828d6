"""Sandbox tools: act as a buyer or a seller, and move the clock, without writing a client.

`mercato sandbox …` and the console's sandbox page call these. Each operation calls the
same domain service the pages call (checkout, pay, offline send, confirm, refund), so the
same events, messages and timers follow; nothing here decides what is allowed. People are
named by nick: the sandbox acts for anyone, which is why ``check_enabled`` guards every
surface and production turns ``MERCATO_SANDBOX_TOOLS`` off.

The trade operations flush, and the caller commits (DESIGN §4.1). ``move_clock`` is the
exception: it commits the new offset itself, then runs the timers that became due, each in
its own unit of work, as the job runner would.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from mercato import timers  # noqa: F401  (registers the job handlers move_clock runs)
from mercato.accounts import service as accounts
from mercato.catalog.schemas import ONSALE, SKU_NORMAL
from mercato.config import Settings
from mercato.developer import sandbox_clock
from mercato.events.jobs import PENDING, registered_kinds, run_until_idle
from mercato.kit.clock import clock, utcnow
from mercato.kit.db import Database
from mercato.kit.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from mercato.kit.money import format_fen
from mercato.logistics import service as logistics
from mercato.logistics.carriers import get_carrier, list_carriers, waybill_matches
from mercato.models import Address, Carrier, Item, Job, Shop, Sku, Trade, User
from mercato.refunds import service as refunds
from mercato.refunds.schemas import OPEN_STATUSES, REFUND, REFUND_AND_RETURN
from mercato.trade import service as trade
from mercato.trade.policy import Timeouts
from mercato.trade.schemas import CheckoutLine

DEFAULT_REASON = "沙箱退款 Sandbox refund"
CAST_SIZE = 8  # buyers and shops listed on the console page
ITEMS_PER_SHOP = 3
# Enough rounds for a demo-sized backlog after a long jump; a job that keeps
# rescheduling itself still ends in an error rather than a hang.
MAX_JOB_ROUNDS = 1000
# How long to wait for due timers that another process is running (its lease is 60 s).
SETTLE_SECONDS = 30.0
SETTLE_POLL_SECONDS = 0.05


def check_enabled(settings: Settings) -> None:
    """Refuse when the sandbox tools are off (``MERCATO_SANDBOX_TOOLS=false``)."""
    if not settings.sandbox_tools:
        raise PermissionDenied(
            "沙箱工具已关闭 · the sandbox tools are turned off (MERCATO_SANDBOX_TOOLS=false)",
            code="sandbox_disabled",
        )


@dataclass(frozen=True)
class TradeResult:
    tid: int
    status: str
    payment: str  # yuan, as TOP renders money

    @classmethod
    def of(cls, row: Trade) -> TradeResult:
        return cls(row.id, row.status, format_fen(row.payment))

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class ShipResult(TradeResult):
    company: str = ""
    waybill: str = ""


@dataclass(frozen=True)
class RefundResult:
    refund_id: int  # the first of refund_ids
    status: str
    tid: int
    refund_ids: list[int]
    refund_fee: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class ClockState:
    now: datetime
    offset: timedelta
    jobs_run: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "now": self.now.isoformat(),
            "offset_seconds": int(self.offset.total_seconds()),
            "jobs_run": self.jobs_run,
        }


async def _user(session: AsyncSession, nick: str) -> User:
    user = await accounts.find_user(session, nick)
    if user is None:
        raise NotFound(f"no user {nick}")
    return user


# ---------------------------------------------------------------- the buyer


async def place_order(
    session: AsyncSession,
    buyer_nick: str,
    *,
    num_iid: int,
    sku_id: int = 0,
    quantity: int = 1,
    pay: bool = False,
    timeouts: Timeouts | None = None,
) -> TradeResult:
    """Buy now as the buyer, to their default address; with ``pay``, pay from the wallet."""
    buyer = await _user(session, buyer_nick)
    addresses = await trade.list_addresses(session, buyer)
    if not addresses:
        raise ValidationFailed.one("buyer", "no_address", f"{buyer.nick} has no address")
    address = next((a for a in addresses if a.is_default), addresses[0])
    placed = await trade.checkout(
        session,
        buyer,
        lines=[CheckoutLine(num_iid, sku_id, quantity)],
        address_id=address.id,
        checkout_key=f"sandbox:{uuid.uuid4().hex}",
        timeouts=timeouts,
    )
    if pay:
        return await _pay(session, buyer, placed[0].id)
    return TradeResult.of(placed[0])


async def pay_trade(session: AsyncSession, buyer_nick: str, tid: int) -> TradeResult:
    """Pay the buyer's unpaid trade from their wallet (a repeat is not charged twice)."""
    return await _pay(session, await _user(session, buyer_nick), tid)


async def _pay(session: AsyncSession, buyer: User, tid: int) -> TradeResult:
    paid = await trade.pay(session, buyer, [tid], key=trade.wallet_pay_key([tid]))
    assert isinstance(paid, list)  # the wallet pays at once; only "sandbox" returns a Payment
    return TradeResult.of(paid[0])


async def confirm(session: AsyncSession, buyer_nick: str, tid: int) -> TradeResult:
    """Confirm receipt as the buyer: the trade finishes and the seller is paid."""
    buyer = await _user(session, buyer_nick)
    return TradeResult.of(await trade.confirm_receipt(session, buyer, tid))


async def refund(
    session: AsyncSession,
    buyer_nick: str,
    tid: int,
    *,
    oid: int | None = None,
    amount: int | None = None,
    reason: str = DEFAULT_REASON,
    return_goods: bool = False,
    timeouts: Timeouts | None = None,
) -> RefundResult:
    """Ask for a refund as the buyer: of one order (``oid``), or of every order of the trade
    that has money left and no open refund. ``amount`` (fen) defaults to all that is left;
    a partial amount needs one order. The refund service checks the rest."""
    buyer = await _user(session, buyer_nick)
    the_trade = await trade.get_buyer_trade(session, buyer, tid)
    left = await _refundable(session, the_trade, oid)
    if amount is not None and len(left) > 1:
        raise ValidationFailed.one(
            "amount", "needs_order", "name the order (oid) to refund part of the trade"
        )
    made = [
        await refunds.request_refund(
            session,
            buyer,
            tid=tid,
            oid=order_id,
            dispute_type=REFUND_AND_RETURN if return_goods else REFUND,
            refund_fee=fen if amount is None else amount,
            reason=reason,
            timeouts=timeouts,
        )
        for order_id, fen in left.items()
    ]
    return RefundResult(
        made[0].id,
        made[0].status,
        tid,
        [r.id for r in made],
        format_fen(sum(r.refund_fee for r in made)),
    )


async def _refundable(session: AsyncSession, the_trade: Trade, oid: int | None) -> dict[int, int]:
    """Fen left to refund per chosen order. One named order is passed on as it is (the
    refund service says why it cannot be refunded); for the whole trade, orders with
    nothing left or a refund under way are left out."""
    refunded = await trade.refunded_by_order(session, the_trade.id)
    orders = {o.id: o for o in the_trade.orders}
    if oid is not None:
        if oid not in orders:
            raise NotFound(f"order {oid} does not exist in trade {the_trade.id}")
        return {oid: orders[oid].payment - refunded.get(oid, 0)}
    left = {
        o.id: o.payment - refunded.get(o.id, 0)
        for o in orders.values()
        if o.refund_status not in OPEN_STATUSES and o.payment > refunded.get(o.id, 0)
    }
    if not left:
        raise Conflict(f"trade {the_trade.id} has nothing left to refund", code="nothing_to_refund")
    return left


# ---------------------------------------------------------------- the seller


async def ship(
    session: AsyncSession,
    tid: int,
    *,
    company: str | None = None,
    waybill: str | None = None,
    timeouts: Timeouts | None = None,
) -> ShipResult:
    """Ship every waiting order of the trade as its seller (offline send). The carrier
    defaults to the first in service and the waybill to one made for this trade in the
    carrier's shape, so the same call again is a retry, not a second parcel."""
    the_trade = await session.get(Trade, tid)
    if the_trade is None:
        raise NotFound(f"trade {tid} does not exist")
    seller = await session.get(User, the_trade.seller_id)
    assert seller is not None  # a trade's seller is a foreign key
    code = company or await _first_carrier(session)
    if not waybill:
        carrier = await get_carrier(session, code)
        # An unknown carrier gets no waybill: offline_send names the carrier as the problem.
        waybill = sample_waybill(carrier, tid) if carrier is not None else ""
    shipment = await logistics.offline_send(
        session, seller, tid, company_code=code, out_sid=waybill, timeouts=timeouts
    )
    return ShipResult(
        the_trade.id,
        the_trade.status,
        format_fen(the_trade.payment),
        shipment.carrier_code,
        shipment.waybill,
    )


async def _first_carrier(session: AsyncSession) -> str:
    carriers = await list_carriers(session)
    if not carriers:
        raise Conflict("no carrier is in service", code="no_carrier")
    return carriers[0].code


_PATTERN_PART = re.compile(r"\\d(?:\{(\d+)(?:,\d+)?\})?|\[(.)[^\]]*\](?:\{(\d+)(?:,\d+)?\})?|(\w)")


def sample_waybill(carrier: Carrier, tid: int) -> str:
    """A waybill of the carrier's shape (``reg_mail_no``) whose digits are the trade id.
    Understands the shapes carriers use: literals, ``\\d{n}`` and ``[..]{n}``; for any
    other pattern the caller must give the waybill."""
    out = []
    for part in _PATTERN_PART.finditer(carrier.reg_mail_no.strip("^$")):
        digits, first, repeat, literal = part.groups()
        if literal:
            out.append(literal)
        elif first:
            out.append(first * int(repeat or 1))
        else:
            n = int(digits or 1)
            out.append(str(tid).zfill(n)[-n:])
    number = "".join(out)
    if not waybill_matches(carrier, number):
        raise ValidationFailed.one(
            "waybill", "required", f"give a waybill number for {carrier.name} ({carrier.code})"
        )
    return number


# ---------------------------------------------------------------- the clock


async def clock_state(session: AsyncSession) -> ClockState:
    """The sandbox time and the stored offset (what every process follows)."""
    return ClockState(utcnow(), await sandbox_clock.load(session))


async def move_clock(
    db: Database, *, advance: str | None = None, reset: bool = False
) -> ClockState:
    """Advance the shared clock by a duration (``90m``, ``3d``) or reset it to the wall
    clock, follow it in this process at once, and run every timer that became due, so an
    unpaid trade is closed (or a shipped one confirmed) by the time this returns. Other
    processes follow within a second. Resetting moves time back; what happened stays."""
    if reset == (advance is not None):
        raise ValidationFailed.one("advance", "choice", "advance by a duration, or reset")
    step = None if advance is None else sandbox_clock.parse_duration(advance)
    async with db.write() as session:
        if step is None:
            await sandbox_clock.clear(session)
            offset = timedelta()
        else:
            offset = await sandbox_clock.add(session, step)
    clock.follow(offset)
    return ClockState(utcnow(), offset, await _run_due_timers(db))


async def _run_due_timers(db: Database) -> int:
    """Run what is due until nothing is; a job another process (a worker that already
    follows the new time) claimed first is waited for, so the effect is there on return."""
    ran = 0
    deadline = asyncio.get_running_loop().time() + SETTLE_SECONDS
    while True:
        ran += await run_until_idle(db, max_rounds=MAX_JOB_ROUNDS)
        if not await _any_due(db) or asyncio.get_running_loop().time() > deadline:
            return ran
        await asyncio.sleep(SETTLE_POLL_SECONDS)


async def _any_due(db: Database) -> bool:
    async with db.read() as session:
        due = await session.scalar(
            select(Job.id)
            .where(Job.status == PENDING, Job.run_at <= utcnow(), Job.kind.in_(registered_kinds()))
            .limit(1)
        )
    return due is not None


# ---------------------------------------------------------------- who to act as


@dataclass(frozen=True)
class CastItem:
    num_iid: int
    title: str
    price: str
    sku_id: int  # 0: the item has no SKUs


@dataclass(frozen=True)
class CastShop:
    seller: str
    title: str
    items: list[CastItem]


@dataclass(frozen=True)
class Cast:
    buyers: list[str]  # nicks with an address, so they can order
    shops: list[CastShop]


async def cast(session: AsyncSession) -> Cast:
    """The first buyers and shops to try the tools with (the demo's come first)."""
    buyers = await session.scalars(
        select(User.nick)
        .join(Address, Address.user_id == User.id)
        .where(Address.is_default)
        .order_by(User.id)
        .limit(CAST_SIZE)
    )
    rows = (
        await session.execute(
            select(Shop, User.nick)
            .join(User, User.id == Shop.seller_id)
            .order_by(Shop.id)
            .limit(CAST_SIZE)
        )
    ).all()
    shops = [CastShop(nick, shop.title, await _cast_items(session, shop.id)) for shop, nick in rows]
    return Cast(list(buyers), shops)


async def _cast_items(session: AsyncSession, shop_id: int) -> list[CastItem]:
    items = await session.scalars(
        select(Item)
        .where(Item.shop_id == shop_id, Item.approve_status == ONSALE, Item.quantity > 0)
        .order_by(Item.id)
        .limit(ITEMS_PER_SHOP)
    )
    out = []
    for item in items:
        sku_id = await session.scalar(
            select(Sku.id)
            .where(Sku.item_id == item.id, Sku.status == SKU_NORMAL, Sku.quantity > 0)
            .order_by(Sku.id)
        )
        out.append(CastItem(item.id, item.title, format_fen(item.price), sku_id or 0))
    return out
