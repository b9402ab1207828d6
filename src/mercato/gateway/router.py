"""``/router/rest``: the TOP face (TOP-PROTOCOL.md §2–6, §14).

Validation runs in TOP's order and stops at the first failure: method (21/22), app_key
(28/29), sign present (24), timestamp (30/31), v (32/33/34), format (23), sign_method and
sign (25), app standing and IP whitelist (11), permission package (11), session (26/27),
role (42), flow control (7, hook), business parameters (40/41), the handler (15). Every
answer, errors included, is HTTP 200; nothing unexpected leaks into a body.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime, timedelta
from typing import Any, cast
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import Response

from mercato.config import Settings
from mercato.gateway import adapters, dispatch, envelope, hooks, signing
from mercato.gateway.context import CallContext
from mercato.gateway.errors import GatewayError, unknown_error
from mercato.gateway.flowcontrol import FlowLimited
from mercato.gateway.registry import REGISTRY, Method
from mercato.gateway.wire import read_params
from mercato.kit import crypto
from mercato.kit.clock import clock, utcnow
from mercato.kit.db import Database

log = logging.getLogger("mercato.gateway")
router = APIRouter()

REST_PATH = "/router/rest"
SUPPORTED_VERSION = "2.0"
FORMATS = ("json", "xml")


def new_context(request: Request, face: str) -> CallContext:
    return CallContext(
        request_id=envelope.new_request_id(),
        received_at=utcnow(),
        settings=cast(Settings, request.app.state.settings),
        db=cast(Database, request.app.state.db),
        server_secret=str(request.app.state.secret_key),
        client_ip=request.client.host if request.client else "",
        face=face,
    )


def parse_timestamp(value: str, zone: ZoneInfo) -> datetime | None:
    """A 13-digit ms epoch, or ``yyyy-MM-dd HH:mm:ss`` in the platform zone (GMT+8)."""
    text = value.strip()
    if len(text) == 13 and text.isascii() and text.isdigit():
        return datetime.fromtimestamp(int(text) / 1000, UTC)
    try:
        return datetime.strptime(text, envelope.TOP_DATETIME).replace(tzinfo=zone)
    except ValueError:
        return None


def _check_timestamp(raw: dict[str, str], ctx: CallContext) -> None:
    value = raw.get("timestamp", "")
    if not value:
        raise GatewayError(30)
    sent = parse_timestamp(value, ctx.settings.zone)
    if sent is None:
        raise GatewayError(
            31, "isv.invalid-timestamp", "use epoch milliseconds or yyyy-MM-dd HH:mm:ss"
        )
    # Within the window of the platform's time, or of the callers' own clocks while the
    # sandbox clock is moved (clients sign with their wall clock, or with taobao.time.get).
    skew = timedelta(seconds=ctx.settings.gateway_timestamp_skew_s)
    unmoved = ctx.received_at - clock.shared_offset
    if min(abs(ctx.received_at - sent), abs(unmoved - sent)) > skew:
        raise GatewayError(
            31,
            "isv.invalid-timestamp",
            f"timestamp is more than {ctx.settings.gateway_timestamp_skew_s}s from server time",
        )


def _check_version(raw: dict[str, str]) -> None:
    v = raw.get("v", "")
    if not v:
        raise GatewayError(32)
    parts = v.split(".")
    if not all(p.isascii() and p.isdigit() for p in parts):
        raise GatewayError(33, "isv.invalid-version", f"v={v!r} is not a version")
    if v != SUPPORTED_VERSION:
        raise GatewayError(34, "isv.unsupported-version", f"only v={SUPPORTED_VERSION}")


def _check_signature(raw: dict[str, str], secret: str) -> None:
    sign_method = raw.get("sign_method") or "md5"  # tolerated: a missing sign_method is md5
    if sign_method not in signing.SIGN_METHODS:
        raise GatewayError(25, "isv.invalid-sign-method", f"sign_method {sign_method!r}")
    if not signing.verify(raw, secret, sign_method, raw["sign"]):
        raise GatewayError(25, "isv.invalid-signature", "the signature does not match")


async def _authenticate(ctx: CallContext, raw: dict[str, str]) -> Method:
    """Steps 1–10 of the validation order (everything before the business parameters)."""
    name = raw.get("method", "")
    if not name:
        raise GatewayError(21)
    method = REGISTRY.get(name)
    if method is None:
        raise GatewayError(22, "isv.invalid-method", f"no method {name[:100]!r}")
    ctx.method_name, ctx.method = name, method
    app_key = raw.get("app_key", "")
    if not app_key:
        raise GatewayError(28)
    try:
        found = await adapters.signed_app(
            ctx.db, app_key, ctx.server_secret, ctx.settings.gateway_auth_cache_s
        )
    except crypto.UnreadableSecret:
        log.error("app %s: secret not readable with this server secret", app_key)
        raise unknown_error() from None
    if found is None:
        raise GatewayError(29, "isv.appkey-not-exists", "unknown app_key")
    ctx.app = app = found.app
    if not raw.get("sign"):
        raise GatewayError(24)
    _check_timestamp(raw, ctx)
    _check_version(raw)
    if raw.get("format", "xml").lower() not in FORMATS:
        raise GatewayError(23, "isv.invalid-format", "format is json or xml")
    _check_signature(raw, found.secret)
    dispatch.check_app(app, method, ctx.client_ip)
    if method.session:
        token = raw.get("session", "")
        if not token:
            raise GatewayError(26)
        live = await adapters.live_session(ctx.db, token, ctx.settings.gateway_auth_cache_s)
        if live is None or live.app.id != app.id:
            raise GatewayError(27, "isv.invalid-session", "the session is invalid or expired")
        ctx.user = live.user
        dispatch.check_role(ctx.user, method)
    return method


def _respond(ctx: CallContext, body: dict[str, Any], fmt: str) -> Response:
    headers = {"X-Request-Id": ctx.request_id}
    if fmt == "json":
        return Response(envelope.to_json(body), media_type=envelope.JSON_TYPE, headers=headers)
    return Response(envelope.to_xml(body), media_type=envelope.XML_TYPE, headers=headers)


@router.api_route(
    REST_PATH, methods=["GET", "POST", "PUT", "PATCH", "DELETE"], include_in_schema=False
)
async def router_rest(request: Request) -> Response:
    started = time.perf_counter()
    ctx = new_context(request, "top")
    fmt, simplify = "xml", False
    code, sub_code = 0, None
    try:
        try:
            if request.method not in ("GET", "POST"):
                raise GatewayError(9, "isv.http-action-not-allowed", "use GET or POST")
            raw, files = read_params(
                request.scope.get("query_string", b""),
                request.headers.get("content-type", ""),
                await request.body(),
            )
            ctx.raw, ctx.files = raw, files
            fmt = "json" if raw.get("format", "").lower() == "json" else "xml"
            simplify = fmt == "json" and raw.get("simplify", "").lower() == "true"
            method = await _authenticate(ctx, raw)
            result = await dispatch.run(ctx, method, dispatch.business_params(raw))
            body = envelope.success_body(
                method.name,
                result,
                method.lists,
                ctx.request_id,
                simplify=simplify,
                zone=ctx.settings.zone,
            )
            response = _respond(ctx, body, fmt)
        except GatewayError:
            raise
        except Exception:
            log.exception("gateway request %s failed", ctx.request_id)
            raise unknown_error() from None
    except GatewayError as exc:
        code, sub_code = exc.code, exc.sub_code
        response = _respond(ctx, envelope.error_body(exc.body(ctx.request_id)), fmt)
        if isinstance(exc, FlowLimited):  # flow control (code 7): the standard header too
            response.headers["Retry-After"] = str(exc.retry_after)
    await finish_call(ctx, code, sub_code, started)
    return response


async def finish_call(ctx: CallContext, code: int, sub_code: str | None, started: float) -> None:
    latency_us = int((time.perf_counter() - started) * 1_000_000)
    try:
        await hooks.after_call(ctx, code, sub_code, latency_us)
    except Exception:
        log.exception("after_call hook failed (request %s)", ctx.request_id)
