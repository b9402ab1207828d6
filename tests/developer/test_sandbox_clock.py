"""The shared sandbox clock: stored in the database, followed by every process, and kept
apart from the in-process offset tests use."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from mercato.developer import sandbox_clock
from mercato.developer.sandbox_clock import ClockFollower, parse_duration
from mercato.kit.clock import clock, utcnow
from mercato.kit.db import Database
from mercato.kit.errors import ValidationFailed


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("30s", 30), ("90m", 5400), ("12h", 43200), ("3d", 259200), (" 1d12H ", 129600)],
)
def test_durations(text: str, seconds: int) -> None:
    assert parse_duration(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["-1d", "+1d", "1", "1y", "1 d", "d1", "0m", "9999d", "1e3s"])
def test_malformed_durations_name_the_field(text: str) -> None:
    with pytest.raises(ValidationFailed) as refused:
        parse_duration(text, "clock")
    assert refused.value.problems[0].field == "clock"


async def _store(url: str, step: timedelta) -> timedelta:
    """Advance the stored offset through a database handle of its own, as another process
    (`mercato sandbox clock`) would."""
    other = Database(url)
    try:
        async with other.write() as session:
            return await sandbox_clock.add(session, step)
    finally:
        await other.dispose()


async def test_a_fresh_follower_loads_the_stored_offset(db: Database) -> None:
    # given an offset stored by another process
    assert await _store(str(db.url), timedelta(days=3)) == timedelta(days=3)
    assert await _store(str(db.url), timedelta(hours=1)) == timedelta(days=3, hours=1)
    assert clock.shared_offset == timedelta()
    # when this process starts following
    async with ClockFollower(db, interval=3600) as follower:
        # then its clock runs three days and an hour ahead
        assert clock.shared_offset == timedelta(days=3, hours=1)
        # and a later change is picked up on the next refresh
        await _store(str(db.url), timedelta(minutes=5))
        await follower.refresh()
        assert clock.shared_offset == timedelta(days=3, hours=1, minutes=5)
        async with db.write() as session:
            await sandbox_clock.clear(session)
        await follower.refresh()
        assert clock.shared_offset == timedelta()
    # stopping returns to the wall clock
    assert clock.shared_offset == timedelta()


async def test_the_test_offset_and_the_shared_offset_add_up(db: Database) -> None:
    await _store(str(db.url), timedelta(days=1))
    before = utcnow()
    clock.advance(timedelta(hours=2))
    async with ClockFollower(db, interval=3600) as follower:
        assert utcnow() - before >= timedelta(days=1, hours=2)
        await follower.refresh()  # a refresh never undoes what the test did
        assert utcnow() - before >= timedelta(days=1, hours=2)
        clock.reset()  # and a test's reset leaves the shared offset
        assert clock.shared_offset == timedelta(days=1)
        assert timedelta(days=1) <= utcnow() - before < timedelta(days=1, hours=1)


async def test_a_failed_refresh_keeps_the_last_offset(tmp_path: Path) -> None:
    # a database without the table: the follower logs and carries on
    empty = Database(f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}")
    clock.follow(timedelta(hours=5))
    try:
        follower = ClockFollower(empty, interval=3600)
        await follower.refresh()
        assert clock.shared_offset == timedelta(hours=5)
    finally:
        await empty.dispose()
