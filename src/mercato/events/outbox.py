"""The outbox: events recorded in the same transaction as the change they describe.

Side effects leave after the commit (DESIGN §4.2). A service that changes something others
care about calls ``record_event`` inside the caller's unit of work; the row commits or rolls
back with the change itself, so a message is never sent for a change that did not happen
and never lost for one that did. A dispatcher (the message service, TMC pushes, webhooks)
later reads ``pending_events``, delivers them and calls ``mark_dispatched``.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.kit.clock import utcnow
from mercato.models.events import OutboxEvent


async def record_event(
    session: AsyncSession,
    *,
    topic: str,
    subject: str,
    seq: int,
    user_id: int | None,
    user_nick: str | None,
    content: dict[str, Any],
) -> OutboxEvent:
    """Add an event to the caller's transaction (flushed, not committed).

    ``subject`` names what changed ("trade:1234") and ``seq`` is the event's place in that
    subject's history, so consumers can order and de-duplicate what they receive.
    """
    event = OutboxEvent(
        topic=topic,
        subject=subject,
        seq=seq,
        user_id=user_id,
        user_nick=user_nick,
        content=content,
        created_at=utcnow(),
        dispatched_at=None,
    )
    session.add(event)
    await session.flush()
    return event


async def pending_events(session: AsyncSession, *, limit: int = 500) -> list[OutboxEvent]:
    """Committed events not yet dispatched, oldest first (by id, the commit-ish order)."""
    rows = await session.scalars(
        select(OutboxEvent)
        .where(OutboxEvent.dispatched_at.is_(None))
        .order_by(OutboxEvent.id)
        .limit(limit)
    )
    return list(rows)


async def mark_dispatched(session: AsyncSession, ids: list[int]) -> None:
    """Stamp events as delivered; already-stamped ones keep their first time."""
    if not ids:
        return
    await session.execute(
        update(OutboxEvent)
        .where(OutboxEvent.id.in_(ids), OutboxEvent.dispatched_at.is_(None))
        .values(dispatched_at=utcnow())
    )


async def events_of(session: AsyncSession, subject: str) -> list[OutboxEvent]:
    """One subject's history in order (for tests and the consoles)."""
    rows = await session.scalars(
        select(OutboxEvent)
        .where(OutboxEvent.subject == subject)
        .order_by(OutboxEvent.seq, OutboxEvent.id)
    )
    return list(rows)
