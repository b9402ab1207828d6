"""Call-log rows for statistics tests, written straight into ``api_calls``."""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.models import ApiCall, App

_ids = itertools.count(1)


@dataclass(frozen=True)
class Call:
    method: str
    latency_us: int
    called_at: datetime
    code: int = 0
    sub_code: str = ""
    user_id: int | None = None


async def add_calls(session: AsyncSession, app: App | None, calls: Iterable[Call]) -> list[str]:
    """Insert ``calls`` for ``app`` (None: an unknown app key); returns their request ids."""
    rows = []
    for call in calls:
        rows.append(
            {
                "request_id": f"req{next(_ids):08d}",
                "app_id": app.id if app else None,
                "method": call.method,
                "user_id": call.user_id,
                "code": call.code,
                "sub_code": call.sub_code,
                "latency_us": call.latency_us,
                "called_at": call.called_at,
            }
        )
    if rows:
        await session.execute(insert(ApiCall), rows)
    return [str(r["request_id"]) for r in rows]
