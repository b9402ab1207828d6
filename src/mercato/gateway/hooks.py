"""Extension points around every call, so flow control and the call log plug in without
touching the router's flow. Both faces (``/router/rest`` and ``/api/v1``) call them.

- ``before_call`` runs once the app, method and user are known and authorized, before the
  business parameters are read. Flow control raises ``GatewayError(7, "accesscontrol.…")``
  here.
- ``after_call`` runs for every request, errors included, once the response is decided;
  ``code`` is 0 on success. The call log records here (it must not block: queue and batch).
"""

from __future__ import annotations

from mercato.gateway.context import CallContext


async def before_call(ctx: CallContext) -> None:
    """Flow control goes here (no-op for now)."""


async def after_call(ctx: CallContext, code: int, sub_code: str | None, latency_us: int) -> None:
    """The call log goes here (no-op for now)."""
