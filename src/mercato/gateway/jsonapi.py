"""The JSON face of the same registry (TOP-PROTOCOL.md §15): ``POST /api/v1/{method}`` with
the business parameters as a JSON object and ``Authorization: Bearer <access_token>`` (the
same tokens as TOP's ``session``); answers ``{"result": …}`` or ``{"error", "detail"}`` with
an HTTP status. ``GET /api/v1/openapi.json`` describes every declared method."""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from mercato import __version__
from mercato.gateway import adapters, dispatch, envelope
from mercato.gateway.context import CallContext
from mercato.gateway.errors import GatewayError, unknown_error
from mercato.gateway.flowcontrol import FlowLimited
from mercato.gateway.registry import REGISTRY, Method
from mercato.gateway.router import finish_call, new_context

log = logging.getLogger("mercato.gateway")
router = APIRouter(prefix="/api/v1")

MAX_JSON_BYTES = 1024 * 1024


def _bearer(request: Request) -> str:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


async def _identify(ctx: CallContext, method: Method, token: str) -> None:
    """The token's user and app; required when the method needs a session or a package."""
    if not token:
        if method.session or method.package is not None:
            raise GatewayError(
                26,
                "isv.missing-session",
                "send Authorization: Bearer <token>",
                slug="authentication_required",
            )
        return
    live = await adapters.live_session(ctx.db, token, ctx.settings.gateway_auth_cache_s)
    if live is None:
        raise GatewayError(
            27, "isv.invalid-session", "the token is invalid or expired", slug="invalid_token"
        )
    ctx.user, ctx.app = live.user, live.app
    dispatch.check_app(ctx.app, method, ctx.client_ip)
    if method.session:
        dispatch.check_role(ctx.user, method)


def _values(raw: bytes) -> dict[str, Any]:
    if not raw.strip():
        return {}
    if len(raw) > MAX_JSON_BYTES:
        raise GatewayError(43, "isv.invalid-body", "the body is too large", slug="bad_request")
    try:
        values = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise GatewayError(
            43, "isv.invalid-body", "the body is not JSON", slug="bad_request"
        ) from None
    if not isinstance(values, dict):
        raise GatewayError(
            43, "isv.invalid-body", "the body must be a JSON object", slug="bad_request"
        )
    return values


def _error(ctx: CallContext, exc: GatewayError) -> JSONResponse:
    body: dict[str, Any] = {"error": exc.slug, "detail": exc.sub_msg or exc.msg}
    if exc.problems:
        body["problems"] = exc.problems
    headers = {"X-Request-Id": ctx.request_id}
    if exc.http_status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    if isinstance(exc, FlowLimited):  # flow control (429)
        headers["Retry-After"] = str(exc.retry_after)
    return JSONResponse(body, status_code=exc.http_status, headers=headers)


@router.get("/openapi.json", include_in_schema=False)
async def openapi_document() -> JSONResponse:
    return JSONResponse(openapi())


@router.post("/{method_name}", include_in_schema=False)
async def call(method_name: str, request: Request) -> Response:
    started = time.perf_counter()
    ctx = new_context(request, "json")
    code, sub_code = 0, None
    try:
        try:
            method = REGISTRY.get(method_name)
            if method is None:
                raise GatewayError(
                    22,
                    "isv.invalid-method",
                    f"no method {method_name[:100]!r}",
                    slug="unknown_method",
                )
            ctx.method_name, ctx.method = method.name, method
            await _identify(ctx, method, _bearer(request))
            values = _values(await request.body())
            result = await dispatch.run(ctx, method, values)
            rendered = envelope.render(result, method.lists, simplify=True, zone=ctx.settings.zone)
            response: Response = Response(
                envelope.to_json({"result": rendered}),
                media_type="application/json",
                headers={"X-Request-Id": ctx.request_id},
            )
        except GatewayError:
            raise
        except Exception:
            log.exception("api request %s failed", ctx.request_id)
            raise unknown_error() from None
    except GatewayError as exc:
        code, sub_code = exc.code, exc.sub_code
        response = _error(ctx, exc)
    await finish_call(ctx, code, sub_code, started)
    return response


def openapi() -> dict[str, Any]:
    """OpenAPI 3.1 for every declared method: one path each, the request body from its
    params model, bearer security where a token is needed."""
    schemas: dict[str, Any] = {}
    paths: dict[str, Any] = {}
    error = {"$ref": "#/components/schemas/Error"}
    for method in REGISTRY.methods():
        schema = method.params.model_json_schema(
            by_alias=True, ref_template="#/components/schemas/{model}"
        )
        schemas.update(schema.pop("$defs", {}))
        needs_token = method.session or method.package is not None
        operation: dict[str, Any] = {
            "operationId": method.name,
            "summary": method.description.split("\n", 1)[0],
            "description": method.description,
            "tags": [method.name.split(".")[1] if "." in method.name else method.name],
            "requestBody": {
                "required": False,
                "content": {"application/json": {"schema": schema}},
            },
            "responses": {
                "200": {
                    "description": "the method's result",
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "properties": {"result": {"type": "object"}},
                            },
                            "example": {"result": dict(method.example)},
                        }
                    },
                },
                **{
                    str(status): {
                        "description": text,
                        "content": {"application/json": {"schema": error}},
                    }
                    for status, text in (
                        (400, "bad request or business rule failed"),
                        (401, "missing or invalid bearer token"),
                        (403, "the app or the user may not call this method"),
                        (404, "unknown method or object"),
                        (409, "conflict"),
                        (422, "invalid parameters"),
                        (429, "flow control"),
                    )
                },
            },
            "security": [{"bearer": []}] if needs_token else [],
            "x-top-method": method.name,
            "x-permission-package": method.package,
            "x-session": method.session,
            "x-role": method.role,
            "x-write": method.write,
        }
        paths[f"/api/v1/{method.name}"] = {"post": operation}
    schemas["Error"] = {
        "type": "object",
        "required": ["error", "detail"],
        "properties": {
            "error": {"type": "string"},
            "detail": {"type": "string"},
            "problems": {"type": "array", "items": {"type": "object"}},
        },
    }
    return {
        "openapi": "3.1.0",
        "info": {"title": "Mercato open API (JSON face)", "version": __version__},
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "an access token (the TOP session) from /oauth/token",
                }
            },
        },
    }
