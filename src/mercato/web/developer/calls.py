"""The developer console's call statistics of one app: a table per method (calls, success
rate, p50/p99 latency), calls per hour as a server-rendered SVG bar chart (no third-party
JavaScript, DESIGN.md §7) and the latest error calls. Another developer's app is a 404."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from mercato.gateway import stats
from mercato.gateway.flowcontrol import BUILTIN_TIERS, FlowControl, describe
from mercato.kit.clock import utcnow
from mercato.models import User
from mercato.web.deps import PathId, db_of, require_user, settings_of
from mercato.web.templating import page

router = APIRouter(prefix="/developer")

RANGES = {1: "1 小时 1 hour", 24: "24 小时 24 hours", 168: "7 天 7 days"}
DEFAULT_HOURS = 24
CHART_W, CHART_H, CHART_TOP, CHART_BOTTOM, CHART_LEFT = 720, 200, 10, 24, 40


@dataclass(frozen=True)
class Bar:
    x: float
    width: float
    ok_y: float
    ok_h: float
    err_y: float
    err_h: float
    title: str


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    bars: list[Bar]
    labels: list[tuple[float, str]]  # (x, text) under the axis
    peak: int
    baseline: float


def hourly_chart(hours: list[stats.HourBucket], zone: object) -> Chart:
    """Bars of successful calls with the errors stacked on top, hour labels in the platform
    zone; the geometry is computed here so the template only draws rectangles."""
    peak = max((h.calls for h in hours), default=0)
    plot_w = CHART_W - CHART_LEFT
    plot_h = CHART_H - CHART_TOP - CHART_BOTTOM
    baseline = CHART_TOP + plot_h
    step = plot_w / max(len(hours), 1)
    label_every = max(1, len(hours) // 8)
    bars, labels = [], []
    for i, hour in enumerate(hours):
        x = CHART_LEFT + i * step
        scale = plot_h / peak if peak else 0.0
        ok_h = (hour.calls - hour.errors) * scale
        err_h = hour.errors * scale
        local = hour.start.astimezone(zone)  # type: ignore[arg-type]
        bars.append(
            Bar(
                x=round(x + step * 0.1, 2),
                width=round(step * 0.8, 2),
                ok_y=round(baseline - ok_h, 2),
                ok_h=round(ok_h, 2),
                err_y=round(baseline - ok_h - err_h, 2),
                err_h=round(err_h, 2),
                title=f"{local:%m-%d %H}:00 · {hour.calls} calls, {hour.errors} errors",
            )
        )
        if i % label_every == 0:
            labels.append((round(x + step / 2, 2), f"{local:%H}:00"))
    return Chart(CHART_W, CHART_H, bars, labels, peak, baseline)


@router.get("/apps/{app_id}/calls")
async def app_calls(
    request: Request, app_id: PathId, hours: int = DEFAULT_HOURS, user: User = Depends(require_user)
) -> Response:
    if hours not in RANGES:
        hours = DEFAULT_HOURS
    until = utcnow().replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    since = until - timedelta(hours=hours)
    async with db_of(request).read() as session:
        result = await stats.app_call_stats(session, user, app_id, since=since, until=until)
    settings = settings_of(request)
    flow: FlowControl | None = getattr(request.app.state, "flow_control", None)
    tier = flow.tier_of(result.app) if flow else BUILTIN_TIERS["unlimited"]
    return await page(
        request,
        "developer/calls.html",
        app=result.app,
        stats=result,
        chart=hourly_chart(result.hours, settings.zone),
        hours=hours,
        ranges=RANGES,
        tier=describe(tier),
        zone=settings.zone,
    )
