"""How long the trade and after-sales timers wait (``MERCATO_*`` settings, docs/trades.md).

``Timeouts`` is a frozen value built from ``Settings``. Services that schedule timers take
``timeouts=`` from their caller (the web layer builds it from the app's settings); a caller
that passes none, and the job handlers, get ``current()``: the process's settings as read
from the environment, which is where ``mercato serve`` and ``mercato worker`` read theirs.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache

from mercato.config import Settings


@dataclass(frozen=True)
class Timeouts:
    close_unpaid: timedelta = timedelta(minutes=30)  # an unpaid trade closes
    auto_confirm: timedelta = timedelta(days=10)  # a shipped trade confirms receipt
    refund_agree: timedelta = timedelta(days=5)  # the seller did not answer: agreed
    refund_return: timedelta = timedelta(days=7)  # the buyer did not send the goods: closed
    refund_confirm: timedelta = timedelta(days=10)  # the seller did not confirm: refunded
    # When the last open refund of a shipped trade ends, the paused auto-confirm timer
    # resumes with the time it had left, but never with less than this.
    confirm_resume_min: timedelta = timedelta(days=3)

    @classmethod
    def from_settings(cls, settings: Settings) -> Timeouts:
        return cls(
            close_unpaid=timedelta(minutes=settings.close_unpaid_minutes),
            auto_confirm=timedelta(days=settings.auto_confirm_days),
            refund_agree=timedelta(days=settings.refund_agree_days),
            refund_return=timedelta(days=settings.refund_return_days),
            refund_confirm=timedelta(days=settings.refund_confirm_days),
            confirm_resume_min=timedelta(days=settings.auto_confirm_resume_min_days),
        )


DEFAULT = Timeouts()


@lru_cache(maxsize=1)
def current() -> Timeouts:
    """This process's timeouts, from the environment (read once; ``current.cache_clear()``
    after changing it)."""
    return Timeouts.from_settings(Settings())


def resolve(timeouts: Timeouts | None) -> Timeouts:
    """The caller's timeouts, or this process's."""
    return timeouts if timeouts is not None else current()
