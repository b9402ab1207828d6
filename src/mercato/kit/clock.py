"""The one source of "now". Tests and the sandbox move it; nothing else reads the wall clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


class Clock:
    def __init__(self) -> None:
        self._offset = timedelta()

    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""
        return datetime.now(UTC) + self._offset

    def advance(self, delta: timedelta) -> None:
        self._offset += delta

    def reset(self) -> None:
        self._offset = timedelta()


clock = Clock()


def utcnow() -> datetime:
    return clock.now()
