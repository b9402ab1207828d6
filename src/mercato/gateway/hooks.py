"""Extension points around every call, so flow control and the call log plug in without
touching the router's flow. Both faces (``/router/rest`` and ``/api/v1``) call them.

- ``before_call`` runs once the app, method and user are known and authorized, before the
  business parameters are read. Flow control raises ``GatewayError(7, "accesscontrol.…")``
  here.
- ``after_call`` runs for every request, errors included, once the response is decided;
  ``code`` is 0 on success. The call log records here (it must not block: queue and batch).

The app's lifespan ``attach``-es its ``FlowControl`` and ``CallLog`` to its ``Database``
(the one per-app object every ``CallContext`` carries), so several apps in one process (the
tests) never share counters or queues. A context whose database has nothing attached (a
handler called directly) passes both hooks untouched.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import inspect

from mercato.gateway.calllog import CallLog, CallRecord
from mercato.gateway.context import CallContext
from mercato.gateway.flowcontrol import FlowControl
from mercato.kit.db import Database
from mercato.models.base import Base


@dataclass(frozen=True)
class Services:
    flow: FlowControl | None
    calls: CallLog | None


_attached: dict[Database, Services] = {}


def attach(db: Database, *, flow: FlowControl | None, calls: CallLog | None) -> None:
    _attached[db] = Services(flow, calls)


def detach(db: Database) -> None:
    _attached.pop(db, None)


def services_of(db: Database) -> Services | None:
    return _attached.get(db)


def _row_id(row: Base | None) -> int | None:
    """A row's id without loading anything: when a check fails inside the router's read
    unit of work, its rollback leaves the app and user expired and detached."""
    if row is None:
        return None
    identity = inspect(row).identity
    return int(identity[0]) if identity else None


async def before_call(ctx: CallContext) -> None:
    """Flow control: code 7 when the app, method or user is over its limit."""
    services = _attached.get(ctx.db)
    if services is None or services.flow is None or ctx.app is None:
        return
    await services.flow.check(ctx.app, ctx.method_name, ctx.user_id)


async def after_call(ctx: CallContext, code: int, sub_code: str | None, latency_us: int) -> None:
    """The call log: queue the call (never waits for the database)."""
    services = _attached.get(ctx.db)
    if services is None or services.calls is None:
        return
    services.calls.record(
        CallRecord.of(
            request_id=ctx.request_id,
            app_id=_row_id(ctx.app),
            method=ctx.method_name or ctx.raw.get("method", ""),
            user_id=_row_id(ctx.user),
            code=code,
            sub_code=sub_code,
            latency_us=latency_us,
            called_at=ctx.received_at,
        )
    )
