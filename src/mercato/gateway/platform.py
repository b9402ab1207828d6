"""Platform methods that belong to no business domain."""

from __future__ import annotations

from typing import Any

from mercato.gateway import envelope, registry
from mercato.gateway.context import CallContext
from mercato.gateway.registry import NoParams
from mercato.kit.clock import utcnow


@registry.method(
    "taobao.time.get",
    params=NoParams,
    package=None,
    fields=("time",),
    description="The platform's current time, yyyy-MM-dd HH:mm:ss in GMT+8. No session.",
    example={"time": "2026-01-01 12:00:00"},
)
async def time_get(ctx: CallContext, params: NoParams) -> dict[str, Any]:
    return {"time": envelope.top_datetime(utcnow(), ctx.settings.zone)}
