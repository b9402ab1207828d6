"""The refund's durable timers. Each handler re-checks the refund's status, so a job that
runs late, twice, or after the seller acted does nothing wrong."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from mercato.events.jobs import handler
from mercato.refunds import service
from mercato.refunds.service import AUTO_AGREE_JOB


@handler(AUTO_AGREE_JOB)
async def auto_agree(session: AsyncSession, payload: dict[str, Any]) -> None:
    """Agree for the seller who let a refund request wait too long."""
    await service.auto_agree_timeout(session, int(payload["refund_id"]))
