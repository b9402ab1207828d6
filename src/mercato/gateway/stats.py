"""Call statistics for the developer console: per method (calls, success rate, p50/p99
latency), calls per hour for a chart, and the latest error calls of one app over a range.

Tenancy: every query takes the owner and the app id and goes through
``developer.service.get_own_app``, so another developer's app is "not found".

Percentiles are computed in Python with the nearest-rank method (the smallest latency with
at least p % of the calls at or below it) from the range's latencies, so SQLite and
PostgreSQL give the same numbers. The console asks for at most a week of one app's calls.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.developer.service import get_own_app
from mercato.models import ApiCall, App, User

ERROR_LIMIT = 50


@dataclass(frozen=True)
class MethodStats:
    method: str
    calls: int
    errors: int
    p50_us: int
    p99_us: int

    @property
    def success_rate(self) -> float:
        """Successful calls (code 0) as a fraction of all calls."""
        return (self.calls - self.errors) / self.calls if self.calls else 0.0


@dataclass(frozen=True)
class HourBucket:
    start: datetime  # aware UTC, on the hour
    calls: int
    errors: int


@dataclass(frozen=True)
class ErrorCall:
    request_id: str
    method: str
    code: int
    sub_code: str
    called_at: datetime


@dataclass(frozen=True)
class CallStats:
    app: App
    since: datetime
    until: datetime
    methods: list[MethodStats]
    hours: list[HourBucket]
    errors: list[ErrorCall]

    @property
    def calls(self) -> int:
        return sum(m.calls for m in self.methods)

    @property
    def success_rate(self) -> float:
        calls = self.calls
        return (calls - sum(m.errors for m in self.methods)) / calls if calls else 0.0


def percentile(sorted_values: list[int], p: float) -> int:
    """Nearest-rank percentile of an ascending list (0 for an empty one)."""
    if not sorted_values:
        return 0
    rank = max(1, math.ceil(p / 100 * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


def _hour(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


async def app_call_stats(
    session: AsyncSession,
    owner: User,
    app_id: int,
    *,
    since: datetime,
    until: datetime,
    error_limit: int = ERROR_LIMIT,
) -> CallStats:
    """The owner's app's calls in ``[since, until)``. Raises ``NotFound`` for an app that
    is not the owner's."""
    app = await get_own_app(session, owner, app_id)
    in_range = (ApiCall.app_id == app.id, ApiCall.called_at >= since, ApiCall.called_at < until)
    rows = (
        await session.execute(
            select(ApiCall.method, ApiCall.code, ApiCall.latency_us, ApiCall.called_at).where(
                *in_range
            )
        )
    ).all()
    latencies: dict[str, list[int]] = defaultdict(list)
    failures: dict[str, int] = defaultdict(int)
    hour_calls: dict[datetime, int] = defaultdict(int)
    hour_errors: dict[datetime, int] = defaultdict(int)
    for method, code, latency_us, called_at in rows:
        latencies[method].append(latency_us)
        hour = _hour(called_at)
        hour_calls[hour] += 1
        if code != 0:
            failures[method] += 1
            hour_errors[hour] += 1
    methods = []
    for method in sorted(latencies, key=lambda m: (-len(latencies[m]), m)):
        values = sorted(latencies[method])
        methods.append(
            MethodStats(
                method=method,
                calls=len(values),
                errors=failures[method],
                p50_us=percentile(values, 50),
                p99_us=percentile(values, 99),
            )
        )
    hours = []
    hour = _hour(since)
    while hour < until:
        hours.append(HourBucket(hour, hour_calls[hour], hour_errors[hour]))
        hour += timedelta(hours=1)
    return CallStats(
        app=app,
        since=since,
        until=until,
        methods=methods,
        hours=hours,
        errors=await latest_errors(session, app.id, since, until, error_limit),
    )


async def latest_errors(
    session: AsyncSession, app_id: int, since: datetime, until: datetime, limit: int
) -> list[ErrorCall]:
    """The newest failed calls of the range (callers check ownership first)."""
    rows = await session.scalars(
        select(ApiCall)
        .where(
            ApiCall.app_id == app_id,
            ApiCall.called_at >= since,
            ApiCall.called_at < until,
            ApiCall.code != 0,
        )
        .order_by(ApiCall.called_at.desc(), ApiCall.id.desc())
        .limit(limit)
    )
    return [ErrorCall(r.request_id, r.method, r.code, r.sub_code, r.called_at) for r in rows]
