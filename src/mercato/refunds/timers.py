"""The refund's durable timers. Each handler re-checks the refund's status, so a job that
runs late, twice, or after the buyer or seller acted does nothing wrong. The waits come
from the process's settings (``mercato.trade.policy.current``)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from mercato.events.jobs import handler
from mercato.refunds import service
from mercato.refunds.service import AUTO_AGREE_JOB, CONFIRM_GOODS_TIMEOUT_JOB, RETURN_TIMEOUT_JOB
from mercato.trade import policy


@handler(AUTO_AGREE_JOB)
async def auto_agree(session: AsyncSession, payload: dict[str, Any]) -> None:
    """Agree for the seller who let a refund request wait too long."""
    await service.auto_agree_timeout(session, int(payload["refund_id"]), timeouts=policy.current())


@handler(RETURN_TIMEOUT_JOB)
async def return_timeout(session: AsyncSession, payload: dict[str, Any]) -> None:
    """Close a return the buyer never sent back."""
    await service.return_timeout(session, int(payload["refund_id"]), timeouts=policy.current())


@handler(CONFIRM_GOODS_TIMEOUT_JOB)
async def confirm_goods_timeout(session: AsyncSession, payload: dict[str, Any]) -> None:
    """Refund the buyer whose returned goods the seller never confirmed."""
    await service.confirm_goods_timeout(
        session, int(payload["refund_id"]), timeouts=policy.current()
    )
