from __future__ import annotations

import pytest

from mercato.events import events_of, mark_dispatched, pending_events, record_event
from mercato.kit.db import Database


async def _record(db: Database, subject: str, seq: int) -> int:
    async with db.write() as session:
        event = await record_event(
            session,
            topic="taobao_trade_TradeCreate",
            subject=subject,
            seq=seq,
            user_id=7,
            user_nick="seller",
            content={"tid": subject, "seq": seq},
        )
        assert event.id is not None  # flushed: the id is known inside the transaction
        return event.id


async def test_events_are_pending_until_dispatched(db: Database) -> None:
    first = await _record(db, "trade:1", 2)
    second = await _record(db, "trade:2", 1)
    third = await _record(db, "trade:1", 1)

    async with db.read() as session:
        pending = await pending_events(session)
    assert [e.id for e in pending] == [first, second, third]
    assert pending[0].content == {"tid": "trade:1", "seq": 2}
    assert pending[0].created_at.tzinfo is not None and pending[0].dispatched_at is None

    async with db.write() as session:
        await mark_dispatched(session, [first, third])
        await mark_dispatched(session, [])
    async with db.read() as session:
        assert [e.id for e in await pending_events(session)] == [second]
        assert [e.id for e in await pending_events(session, limit=0)] == []
        history = await events_of(session, "trade:1")
    assert [(e.seq, e.id) for e in history] == [(1, third), (2, first)]
    assert all(e.dispatched_at is not None for e in history)


async def test_an_event_rolls_back_with_its_transaction(db: Database) -> None:
    with pytest.raises(RuntimeError):
        async with db.write() as session:
            await record_event(
                session,
                topic="taobao_trade_TradeCreate",
                subject="trade:9",
                seq=1,
                user_id=None,
                user_nick=None,
                content={},
            )
            raise RuntimeError("the change failed")
    async with db.read() as session:
        assert await pending_events(session) == []
        assert await events_of(session, "trade:9") == []
