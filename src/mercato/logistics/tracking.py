"""Tracking events of a parcel and the simulated carrier feed.

Each step is a ``TrackingEvent`` row; the shipment's ``status`` is its latest action, and
each step records a ``taobao_logistics_LogsticDetailTrace`` event (the typo is TOP's) on
the trade's subject with the trade's next sequence number, in the caller's transaction.

No real carrier reports to Mercato, so for the demo and the sandbox a durable job plays
one: after a parcel is created, ``logistics.simulate`` appends the next step of
GOT → DEPARTURE → ARRIVAL → SENT_SCAN → SIGNED and schedules the following one a few hours
later on the platform clock, until the parcel is signed for.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.accounts import service as accounts
from mercato.events import jobs, outbox
from mercato.kit.clock import utcnow
from mercato.kit.errors import NotFound, ValidationFailed
from mercato.models import Carrier, Shipment, TrackingEvent, Trade
from mercato.trade import repository as trade_repo
from mercato.trade.events import trade_subject

LOGISTICS_TRACE: Final = "taobao_logistics_LogsticDetailTrace"

# TOP's trace actions (§11.5).
ACTIONS: Final = frozenset(
    {
        "CREATE",
        "CONSIGN",
        "GOT",
        "ARRIVAL",
        "DEPARTURE",
        "SIGNED",
        "SENT_SCAN",
        "FAILED",
        "LOST",
        "SENT_CITY",
        "TO_EMS",
        "OTHER",
    }
)
CREATE, SIGNED = "CREATE", "SIGNED"
MAX_DESCRIPTION = 200

SIMULATE_JOB: Final = "logistics.simulate"
SIMULATED_STEPS: Final = ("GOT", "DEPARTURE", "ARRIVAL", "SENT_SCAN", SIGNED)
FIRST_STEP_AFTER = timedelta(hours=2)
STEP_INTERVAL = timedelta(hours=6)
ORIGIN_CITY = "杭州"


def simulate_job_key(shipment_id: int, step: str) -> str:
    """One key per step: a handler cannot reschedule its own key (the runner marks the
    claimed row done after the handler returns), so each step schedules the next one's."""
    return f"track:{shipment_id}:{step}"


async def add_tracking_event(
    session: AsyncSession,
    shipment_id: int,
    action: str,
    description: str,
    at: datetime | None = None,
) -> TrackingEvent:
    """Append a step to a parcel's journey and tell the trade's subscribers.

    The trade row is locked to take its next event number, so concurrent steps of the
    trade's parcels get distinct, ordered ``seq`` values.
    """
    if action not in ACTIONS:
        raise ValidationFailed.one("action", "choice", f"unknown tracking action {action!r}")
    description = description.strip()
    if not description or len(description) > MAX_DESCRIPTION:
        raise ValidationFailed.one("description", "length", f"1 to {MAX_DESCRIPTION} characters")
    shipment = await session.get(Shipment, shipment_id)
    if shipment is None:
        raise NotFound(f"shipment {shipment_id} does not exist")
    trades = await trade_repo.trades_for_update(session, [shipment.trade_id])
    trade = trades[0]
    at = at or utcnow()
    event = TrackingEvent(
        shipment_id=shipment.id, action=action, description=description, occurred_at=at
    )
    session.add(event)
    shipment.status = action
    carrier = await session.scalar(select(Carrier).where(Carrier.code == shipment.carrier_code))
    await _trace_event(session, trade, shipment, event, carrier.name if carrier else "")
    await session.flush()
    return event


async def _trace_event(
    session: AsyncSession,
    trade: Trade,
    shipment: Shipment,
    event: TrackingEvent,
    company_name: str,
) -> None:
    nicks = await accounts.nicks(session, {trade.seller_id})
    trade.event_seq = (trade.event_seq or 0) + 1
    await outbox.record_event(
        session,
        topic=LOGISTICS_TRACE,
        subject=trade_subject(trade.id),
        seq=trade.event_seq,
        user_id=trade.seller_id,
        user_nick=nicks.get(trade.seller_id, ""),
        content={
            "tid": trade.id,
            "out_sid": shipment.waybill,
            "company_name": company_name,
            "status": shipment.status,
            "action": event.action,
            "desc": event.description,
            "time": event.occurred_at.isoformat(),  # UTC; surfaces render the platform zone
        },
    )


async def events_of(session: AsyncSession, shipment_id: int) -> list[TrackingEvent]:
    """A parcel's steps, oldest first."""
    rows = await session.scalars(
        select(TrackingEvent)
        .where(TrackingEvent.shipment_id == shipment_id)
        .order_by(TrackingEvent.occurred_at, TrackingEvent.id)
    )
    return list(rows)


# ---------------------------------------------------------------- simulated carrier feed


def _description(step: str, city: str) -> str:
    city = city.removesuffix("市") or "目的地"
    return {
        "GOT": f"【{ORIGIN_CITY}市】快件已被揽收",
        "DEPARTURE": f"快件已从【{ORIGIN_CITY}转运中心】发出，下一站【{city}转运中心】",
        "ARRIVAL": f"快件已到达【{city}转运中心】",
        "SENT_SCAN": f"【{city}】快递员正在派件，请保持电话畅通",
        "SIGNED": "快件已签收，签收人：本人签收，感谢使用",
    }[step]


async def start_simulation(session: AsyncSession, shipment: Shipment) -> None:
    """Schedule the simulated carrier's first step for a new parcel."""
    await _schedule_step(session, shipment.id, SIMULATED_STEPS[0], utcnow() + FIRST_STEP_AFTER)


async def _schedule_step(session: AsyncSession, shipment_id: int, step: str, at: datetime) -> None:
    await jobs.schedule(
        session,
        kind=SIMULATE_JOB,
        key=simulate_job_key(shipment_id, step),
        run_at=at,
        payload={"shipment_id": shipment_id, "step": step},
    )


@jobs.handler(SIMULATE_JOB)
async def simulate(session: AsyncSession, payload: dict[str, Any]) -> None:
    """Append the step this job is for, then schedule the next one. A job that runs twice,
    or for a parcel already signed for, adds nothing."""
    shipment = await session.get(Shipment, int(payload["shipment_id"]))
    step = str(payload["step"])
    if shipment is None or step not in SIMULATED_STEPS:
        return
    done = {e.action for e in await events_of(session, shipment.id)}
    if step in done or SIGNED in done:
        return
    trade = await session.get(Trade, shipment.trade_id)
    city = trade.receiver_city if trade is not None else ""
    await add_tracking_event(session, shipment.id, step, _description(step, city))
    index = SIMULATED_STEPS.index(step) + 1
    if index < len(SIMULATED_STEPS):
        await _schedule_step(session, shipment.id, SIMULATED_STEPS[index], utcnow() + STEP_INTERVAL)
