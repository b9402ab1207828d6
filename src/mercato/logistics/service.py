"""Offline shipping (``logistics.offline.send``) and the parcel trace (``logistics.trace.search``).

A seller ships a paid trade by naming a carrier and a waybill, for all of its orders or
for some of them (split shipping: one parcel per waybill). Each call creates a
``Shipment`` whose first tracking step is CREATE. When the last order leaves, the trade
moves to WAIT_BUYER_CONFIRM_GOODS through ``trade.service.ship``, which starts the
auto-confirm timer and records TradeSellerShip. Services flush; the caller commits.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Final

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.kit.clock import utcnow
from mercato.kit.errors import Conflict, NotFound, ValidationFailed
from mercato.logistics import tracking
from mercato.logistics.carriers import (
    NORMAL,
    get_carrier,
    normalize_waybill,
    waybill_matches,
)
from mercato.models import Carrier, Order, Shipment, TrackingEvent, Trade, User
from mercato.trade import repository as trade_repo
from mercato.trade import service as trade_service
from mercato.trade.policy import Timeouts
from mercato.trade.schemas import WAIT_SELLER_SEND_GOODS

TRADE_PARTLY_SELLER_SHIP: Final = "taobao_trade_TradePartlySellerShip"
MAX_WAYBILL = 64


def shipment_order_ids(shipment: Shipment) -> list[int]:
    return [int(x) for x in shipment.order_ids.split(",") if x]


async def check_waybill(
    session: AsyncSession,
    company_code: str,
    waybill: str,
    *,
    company_field: str = "company_code",
    waybill_field: str = "out_sid",
) -> tuple[Carrier, str]:
    """The carrier in service named by ``company_code`` and the waybill, stripped and
    upper-cased, when it has that carrier's shape (and at most 64 characters). Otherwise
    ValidationFailed naming ``company_field`` (unknown_company) or ``waybill_field``
    (waybill_format). Reads only; shipping and refund returns share this rule."""
    carrier = await get_carrier(session, company_code)
    if carrier is None or carrier.status != NORMAL:
        raise ValidationFailed.one(
            company_field, "unknown_company", f"no carrier {company_code!r} in service"
        )
    number = normalize_waybill(waybill)
    if not number or len(number) > MAX_WAYBILL or not waybill_matches(carrier, number):
        raise ValidationFailed.one(
            waybill_field, "waybill_format", f"{waybill!r} is not a {carrier.name} waybill number"
        )
    return carrier, number


def is_shipped(order: Order) -> bool:
    """An order has left when it carries a consign time (set per parcel)."""
    return order.consign_time is not None


async def offline_send(
    session: AsyncSession,
    seller: User,
    tid: int,
    *,
    company_code: str,
    out_sid: str,
    order_ids: Sequence[int] | None = None,
    auto_confirm_after: timedelta | None = None,
    timeouts: Timeouts | None = None,
    simulate: bool = True,
) -> Shipment:
    """Ship some or all of a paid trade's orders with one carrier's waybill.

    Rules: the carrier exists and is in service (``company_code``/unknown_company); the
    waybill, stripped and upper-cased, has the carrier's shape (``out_sid``/waybill_format);
    the trade is the seller's (NotFound otherwise) and waits for shipping (Conflict
    illegal_transition otherwise); ``order_ids`` (default: every order not yet shipped)
    belong to the trade (``order_ids``/not_in_trade) and have not left
    (``order_ids``/already_shipped).

    Split shipping: while some orders are still waiting, the trade stays
    WAIT_SELLER_SEND_GOODS; TOP would report it as SELLER_CONSIGNED_PART with
    ``is_part_consign`` true on the shipped orders, Mercato derives that from the orders'
    consign times and records ``TradePartlySellerShip``. The parcel that ships the last
    order completes the trade.

    Idempotent: the same carrier and waybill for the same orders of the trade (or with
    ``order_ids`` omitted) returns the existing shipment; the same waybill for different
    orders is a Conflict (waybill_in_use). ``simulate`` schedules the demo carrier feed.
    The auto-confirm timer waits ``auto_confirm_after`` (default ``timeouts.auto_confirm``).
    """
    carrier, waybill = await check_waybill(session, company_code, out_sid)
    trade = await trade_repo.seller_trade(session, seller.id, tid, for_update=True)
    if trade is None:
        raise NotFound(f"trade {tid} does not exist")
    wanted = None if order_ids is None else sorted({int(oid) for oid in order_ids})

    existing = await session.scalar(
        select(Shipment).where(
            Shipment.trade_id == trade.id,
            Shipment.carrier_code == carrier.code,
            Shipment.waybill == waybill,
        )
    )
    if existing is not None:
        if wanted is None or wanted == sorted(shipment_order_ids(existing)):
            return existing  # a retry
        raise Conflict(
            f"waybill {waybill} already ships other orders of trade {tid}", code="waybill_in_use"
        )

    if trade.status != WAIT_SELLER_SEND_GOODS:
        raise Conflict(
            f"trade {tid} cannot be shipped in status {trade.status}", code="illegal_transition"
        )
    orders = _orders_to_ship(trade, wanted)

    now = utcnow()
    for order in orders:
        order.logistics_company = carrier.code
        order.invoice_no = waybill
        order.consign_time = now
    shipment = Shipment(
        trade_id=trade.id,
        carrier_code=carrier.code,
        waybill=waybill,
        order_ids=",".join(str(o.id) for o in orders),
        shipped_at=now,
        status=tracking.CREATE,
    )
    session.add(shipment)
    await session.flush()

    if all(is_shipped(o) for o in trade.orders):
        await _complete(session, seller, trade, carrier.code, waybill, auto_confirm_after, timeouts)
    else:
        await trade_service._trade_event(
            session, trade, TRADE_PARTLY_SELLER_SHIP, seller_nick=seller.nick
        )
        trade.modified = now
        await session.flush()
    await tracking.add_tracking_event(
        session, shipment.id, tracking.CREATE, f"卖家已发货，{carrier.name} 运单号 {waybill}", now
    )
    if simulate:
        await tracking.start_simulation(session, shipment)
    return shipment


def _orders_to_ship(trade: Trade, wanted: list[int] | None) -> list[Order]:
    if wanted is None:
        return [o for o in trade.orders if not is_shipped(o)]
    if not wanted:
        raise ValidationFailed.one("order_ids", "required", "name at least one order")
    by_id = {o.id: o for o in trade.orders}
    strangers = [oid for oid in wanted if oid not in by_id]
    if strangers:
        raise ValidationFailed.one(
            "order_ids", "not_in_trade", f"orders {strangers} are not in trade {trade.id}"
        )
    shipped = [oid for oid in wanted if is_shipped(by_id[oid])]
    if shipped:
        raise ValidationFailed.one(
            "order_ids", "already_shipped", f"orders {shipped} have already been shipped"
        )
    return [by_id[oid] for oid in wanted]


async def _complete(
    session: AsyncSession,
    seller: User,
    trade: Trade,
    company: str,
    waybill: str,
    auto_confirm_after: timedelta | None,
    timeouts: Timeouts | None,
) -> None:
    """The last parcel left: the trade waits for the buyer. ``ship`` stamps every order
    with the last waybill, so each order's own parcel is put back afterwards."""
    parcels: dict[int, tuple[str | None, str | None, datetime | None]] = {
        o.id: (o.logistics_company, o.invoice_no, o.consign_time) for o in trade.orders
    }
    shipped = await trade_service.ship(
        session,
        seller,
        trade.id,
        company=company,
        invoice_no=waybill,
        auto_confirm_after=auto_confirm_after,
        timeouts=timeouts,
    )
    for order in shipped.orders:
        order.logistics_company, order.invoice_no, order.consign_time = parcels[order.id]
    await session.flush()


async def trace(
    session: AsyncSession, viewer: User, tid: int
) -> list[tuple[Shipment, list[TrackingEvent]]]:
    """The trade's parcels, oldest first, each with its steps; for its buyer or seller only
    (NotFound for anyone else, so a stranger cannot tell the trade exists)."""
    trade = await session.get(Trade, tid)
    if trade is None or viewer.id not in (trade.buyer_id, trade.seller_id):
        raise NotFound(f"trade {tid} does not exist")
    shipments = list(
        await session.scalars(
            select(Shipment).where(Shipment.trade_id == tid).order_by(Shipment.id)
        )
    )
    return [(s, await tracking.events_of(session, s.id)) for s in shipments]
