"""The developer console's API explorer: sign and send a call for one of my apps and show
the raw request and response.

The call is signed here, on the server, with the app's secret, which never reaches the page,
the shown request or a log. It is sent to the real ``/router/rest`` in-process, through
httpx's ASGI transport on this very application object, so the gateway runs with the same
lifespan state (database, flow control, call log): flow control, the call log and the
statistics count it like any other call, and a TOP error is shown exactly as the gateway
answered it. The parameter form comes from the method registry, through the API
reference's own description of a method's parameters.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import httpx
from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from mercato.developer import service as dev
from mercato.gateway import envelope, registry, signing
from mercato.gateway.registry import Method
from mercato.gateway.router import REST_PATH, SUPPORTED_VERSION
from mercato.kit.clock import utcnow
from mercato.kit.crypto import UnreadableSecret
from mercato.kit.errors import FieldProblem, PermissionDenied, ValidationFailed
from mercato.models import App, User
from mercato.oauth import service as oauth
from mercato.web.csrf import csrf_protect
from mercato.web.deps import db_of, require_developer, settings_of
from mercato.web.developer.catalog import Param, groups, params_of
from mercato.web.forms import form_dict
from mercato.web.templating import page

router = APIRouter(prefix="/developer", dependencies=[Depends(csrf_protect)])

PAGE = "developer/explorer.html"
FORMATS = ("json", "xml")
SESSION_MODES = {
    "none": "不带 session · None",
    "key": "粘贴 session key · Paste a session key",
    "user": "已授权用户 · A user who authorized this app",
}
# The explorer's own settings and what each may be.
CHOICES: dict[str, tuple[str, ...]] = {
    "sign_method": signing.SIGN_METHODS,
    "format": FORMATS,
    "session_mode": tuple(SESSION_MODES),
}
DEFAULTS = {"sign_method": "md5", "format": "json", "session_mode": "none"}
PARAM_PREFIX = "p:"  # business parameters' form names, apart from the explorer's own fields
MAX_VALUE_LEN = 10_000
FORM_TYPE = "application/x-www-form-urlencoded;charset=UTF-8"
SHOWN_RESPONSE_HEADERS = ("content-type", "content-length", "x-request-id", "retry-after")


@dataclass(frozen=True)
class Choice:
    """The app and method chosen, what they offer, and what was wrong with the choice."""

    apps: list[App]
    app: App | None
    method: Method | None
    users: list[User]
    problems: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Call:
    """The form's settings, checked. Business values are the gateway's to judge (40, 41)."""

    sign_method: str
    fmt: str
    simplify: bool
    session_mode: str
    session_key: str
    session_user: int | None
    values: dict[str, str]


@dataclass(frozen=True)
class Exchange:
    """The call as it went over the wire (the session key partly masked)."""

    request_line: str
    request_headers: list[tuple[str, str]]
    body: str
    params: list[tuple[str, str]]
    status: int
    response_headers: list[tuple[str, str]]
    response_body: str
    elapsed_ms: float


# ---------------------------------------------------------------- the form


def _id(raw: str) -> int | None:
    text = raw.strip()
    return int(text) if text.isascii() and text.isdigit() and 0 < len(text) < 19 else None


def _app_of(choice_raw: str, apps: list[App]) -> tuple[App | None, int | None]:
    """The default app (my first) or the id asked for, still to be checked as mine."""
    if not choice_raw:
        return (apps[0] if apps else None), None
    return None, _id(choice_raw)


async def _choose(request: Request, user: User, form: dict[str, str]) -> Choice:
    """My apps and the chosen one (another developer's is a 404, as everywhere in the
    console), the chosen method and the users who authorize the app."""
    problems = []
    async with db_of(request).read() as session:
        apps = await dev.my_apps(session, user)
        app, app_id = _app_of(form.get("app", ""), apps)
        if app_id is not None:
            app = await dev.get_own_app(session, user, app_id)
        elif form.get("app"):
            problems.append("app: 不是应用编号 not an app id")
        users = await oauth.authorized_users(session, app) if app else []
    name = form.get("method", "").strip()
    method = registry.get(name) if name else None
    if name and method is None:
        problems.append(f"method: 没有这个接口 no method named {name[:100]!r}")
    return Choice(apps, app, method, users, problems)


def _business_values(params: list[Param], form: dict[str, str]) -> dict[str, str]:
    """The filled-in business parameters by TOP name; an empty one is left out, as TOP's
    own clients do, so a required one left empty gets the gateway's code 40."""
    found = {p.name: form.get(PARAM_PREFIX + p.name, "") for p in params}
    return {name: value for name, value in found.items() if value != ""}


def _problems(form: dict[str, str], values: dict[str, str]) -> list[FieldProblem]:
    out = [
        FieldProblem(name, "choice", "不是可选项 not one of the choices")
        for name, allowed in CHOICES.items()
        if form.get(name) not in allowed
    ]
    mode = form.get("session_mode")
    if mode == "key" and not form.get("session_key", "").strip():
        out.append(FieldProblem("session_key", "missing", "请粘贴 session key · paste a key"))
    if mode == "user" and _id(form.get("session_user", "")) is None:
        out.append(FieldProblem("session_user", "missing", "请选择用户 · choose a user"))
    for name, value in values.items():
        if len(value) > MAX_VALUE_LEN:
            out.append(FieldProblem(name, "too_long", f"最多 at most {MAX_VALUE_LEN} characters"))
    return out


def parse_call(method: Method, form: dict[str, str]) -> Call:
    """The call the form asks for, or ``ValidationFailed`` naming each bad field."""
    values = _business_values(params_of(method), form)
    problems = _problems(form, values)
    if problems:
        raise ValidationFailed(problems)
    return Call(
        sign_method=form["sign_method"],
        fmt=form["format"],
        simplify=form.get("simplify") == "true",
        session_mode=form["session_mode"],
        session_key=form.get("session_key", "").strip(),
        session_user=_id(form.get("session_user", "")),
        values=values,
    )


# ---------------------------------------------------------------- signing and sending


async def session_key(request: Request, app: App, call: Call, reuse: str) -> str:
    """The ``session`` to send: none, the pasted one, or a short-lived key for a user who
    authorizes the app (see ``oauth.explorer_token``: the key posted back is reused while
    it lives; a user who never authorized the app is refused)."""
    if call.session_mode == "key":
        return call.session_key
    if call.session_mode != "user" or call.session_user is None:
        return ""
    try:
        async with db_of(request).write() as session:
            return await oauth.explorer_token(session, app, call.session_user, reuse=reuse)
    except PermissionDenied as exc:
        raise ValidationFailed.one("session_user", exc.code, exc.message) from None


def signed_params(
    request: Request, app: App, method: Method, call: Call, session: str
) -> dict[str, str]:
    """Every parameter of the call, system and business, with ``sign`` last."""
    now = utcnow().astimezone(settings_of(request).zone)
    params = {
        "method": method.name,
        "app_key": app.app_key,
        "timestamp": now.strftime(envelope.TOP_DATETIME),
        "format": call.fmt,
        "v": SUPPORTED_VERSION,
        "sign_method": call.sign_method,
    }
    if call.simplify:
        params["simplify"] = "true"
    if session:
        params["session"] = session
    params.update(call.values)
    try:
        secret = dev.app_secret(app, str(request.app.state.secret_key))
    except UnreadableSecret:
        raise ValidationFailed.one(
            "app", "secret_unreadable", "应用密钥无法读取 the app's secret cannot be read"
        ) from None
    params["sign"] = signing.sign(params, secret, call.sign_method)
    return params


def mask(key: str) -> str:
    """Enough of a session key to recognise it, not enough to use it."""
    return f"{key[:6]}****{key[-4:]}" if len(key) > 16 else "****"


def _pretty(body: str, content_type: str) -> str:
    if "json" not in content_type:
        return body
    try:
        return json.dumps(json.loads(body), ensure_ascii=False, indent=2)
    except ValueError:
        return body


async def send(request: Request, params: dict[str, str]) -> Exchange:
    """POST the call to the gateway in-process. The call comes from the developer's own
    address, so an IP whitelist applies to it as to a call from their machine."""
    client = (request.client.host if request.client else "127.0.0.1", 0)
    transport = httpx.ASGITransport(app=request.app, client=client)
    async with httpx.AsyncClient(transport=transport, base_url="http://explorer") as http:
        started = time.perf_counter()
        response = await http.post(
            REST_PATH, content=urlencode(params), headers={"Content-Type": FORM_TYPE}
        )
        elapsed_ms = (time.perf_counter() - started) * 1000
    shown = {k: mask(v) if k == "session" else v for k, v in params.items()}
    content_type = response.headers.get("content-type", "")
    return Exchange(
        request_line=f"POST {REST_PATH} HTTP/1.1",
        request_headers=[
            (k, response.request.headers[k]) for k in ("content-type", "content-length")
        ],
        body=urlencode(shown),
        params=list(shown.items()),
        status=response.status_code,
        response_headers=[
            (k, response.headers[k]) for k in SHOWN_RESPONSE_HEADERS if k in response.headers
        ],
        response_body=_pretty(response.text, content_type),
        elapsed_ms=round(elapsed_ms, 1),
    )


# ---------------------------------------------------------------- pages


async def _render(
    request: Request, choice: Choice, form: dict[str, str], status_code: int = 200, **extra: Any
) -> Response:
    context: dict[str, Any] = {
        "choice": choice,
        "form": {**DEFAULTS, **form},
        "params": params_of(choice.method) if choice.method else [],
        "groups": groups(),
        "sign_methods": signing.SIGN_METHODS,
        "formats": FORMATS,
        "session_modes": SESSION_MODES,
        "prefix": PARAM_PREFIX,
        "problems": choice.problems,
        "errors": {},
        "exchange": None,
        "token": "",
    }
    context.update(extra)
    response = await page(request, PAGE, status_code, **context)
    if context["token"]:  # a live session key in a hidden field: not for any cache
        response.headers["Cache-Control"] = "no-store"
    return response


@router.get("/explorer")
async def explorer(request: Request, user: User = Depends(require_developer)) -> Response:
    form = {k: request.query_params.get(k, "") for k in ("app", "method")}
    choice = await _choose(request, user, form)
    if choice.app is not None:
        form["app"] = str(choice.app.id)
    return await _render(request, choice, form, 422 if choice.problems else 200)


@router.post("/explorer")
async def explorer_send(request: Request, user: User = Depends(require_developer)) -> Response:
    form = await form_dict(request)
    choice = await _choose(request, user, form)
    if choice.app is None or choice.method is None:
        problems = choice.problems or ["请选择应用和接口 · choose an app and a method"]
        return await _render(request, choice, form, 422, problems=problems)
    try:
        call = parse_call(choice.method, form)
        key = await session_key(request, choice.app, call, form.get("explorer_token", ""))
        params = signed_params(request, choice.app, choice.method, call, key)
    except ValidationFailed as exc:
        problems = [f"{p.field}: {p.message}" for p in exc.problems]
        return await _render(request, choice, form, 422, problems=problems, errors=exc.by_field())
    exchange = await send(request, params)
    token = key if call.session_mode == "user" else ""
    return await _render(request, choice, form, exchange=exchange, token=token)
