"""The trade's durable timers. Each handler re-checks the trade's status, so a job that
runs late, twice, or after the buyer acted does nothing wrong. The waits come from the
process's settings (``mercato.trade.policy.current``)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from mercato.events.jobs import handler
from mercato.trade import policy, service
from mercato.trade.service import AUTO_CONFIRM_JOB, CLOSE_UNPAID_JOB


@handler(CLOSE_UNPAID_JOB)
async def close_unpaid(session: AsyncSession, payload: dict[str, Any]) -> None:
    """Close a trade still unpaid when its payment time is up; give its stock back."""
    await service.close_unpaid_timeout(session, int(payload["tid"]))


@handler(AUTO_CONFIRM_JOB)
async def auto_confirm(session: AsyncSession, payload: dict[str, Any]) -> None:
    """Confirm receipt for the buyer when the shipped trade's waiting time is up (unless a
    refund has the timer paused: then it re-checks later, or resumes)."""
    await service.auto_confirm_timeout(session, int(payload["tid"]), timeouts=policy.current())
