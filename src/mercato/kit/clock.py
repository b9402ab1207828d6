"""The one source of "now". Tests and the sandbox move it; nothing else reads the wall clock.

Two offsets add up. ``advance``/``reset`` move this process only (tests). ``follow`` sets the
sandbox offset that every process shares: it is stored in the database, and servers and
workers copy it here (``mercato.developer.sandbox_clock``), so `mercato sandbox clock`
moves them all. Keeping them apart means a follower refreshing the shared offset never
undoes what a test did to its own process.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


class Clock:
    def __init__(self) -> None:
        self._offset = timedelta()
        self._shared = timedelta()

    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""
        return datetime.now(UTC) + self._shared + self._offset

    def advance(self, delta: timedelta) -> None:
        """Move this process's clock (tests)."""
        self._offset += delta

    def reset(self) -> None:
        """Undo ``advance``; the shared sandbox offset stays."""
        self._offset = timedelta()

    @property
    def shared_offset(self) -> timedelta:
        return self._shared

    def follow(self, offset: timedelta) -> None:
        """Take the sandbox offset every process shares (read from the database)."""
        self._shared = offset


clock = Clock()


def utcnow() -> datetime:
    return clock.now()
