"""Render errors: JSON for API paths, a friendly page for people."""

from __future__ import annotations

from urllib.parse import quote, urlsplit

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from mercato.kit.errors import AuthenticationRequired, MercatoError
from mercato.web.forms import safe_next
from mercato.web.templating import page

TITLES = {
    400: "Bad request · 请求有误",
    401: "Please sign in · 请先登录",
    403: "Not allowed · 无权访问",
    404: "Not found · 页面不存在",
    405: "Method not allowed",
    409: "Conflict · 冲突",
    422: "Please check the form · 请检查表单",
    500: "Something went wrong · 出错了",
}


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/") or "application/json" in request.headers.get(
        "accept", ""
    )


async def _render(request: Request, status: int, code: str, detail: str) -> Response:
    if _wants_json(request):
        return JSONResponse({"error": code, "detail": detail}, status_code=status)
    return await page(
        request,
        "error.html",
        status_code=status,
        title=TITLES.get(status, "Error"),
        detail=detail,
        code=code,
    )


async def on_mercato_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, MercatoError)
    if isinstance(exc, AuthenticationRequired) and not _wants_json(request):
        return RedirectResponse(f"/login?next={quote(_come_back_to(request))}", status_code=303)
    if _wants_json(request):
        return JSONResponse(exc.as_dict(), status_code=exc.status)
    return await _render(request, exc.status, exc.code, exc.message)


def _come_back_to(request: Request) -> str:
    """Where to return after signing in: the page itself for a GET; for a form post (which a
    GET cannot repeat) the local page the form was on."""
    if request.method == "GET":
        return request.url.path
    referer = urlsplit(request.headers.get("referer", ""))
    same_site = not referer.netloc or referer.netloc == request.url.netloc
    return safe_next(referer.path if same_site else None)


async def on_http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    return await _render(request, exc.status_code, "http_error", str(exc.detail))


async def on_request_invalid(request: Request, exc: Exception) -> Response:
    """Parameters FastAPI could not parse: a malformed id in a path names nothing (404);
    anything else is a 422 naming the parameter."""
    assert isinstance(exc, RequestValidationError)
    problems = [
        (".".join(str(p) for p in err["loc"]), err["type"], err["msg"]) for err in exc.errors()
    ]
    if _wants_json(request):
        detail = [{"field": f, "rule": r, "message": m} for f, r, m in problems]
        return JSONResponse({"error": "invalid", "detail": detail}, status_code=422)
    if any(field.startswith("path.") for field, _, _ in problems):
        return await _render(request, 404, "not_found", "no such page")
    return await _render(request, 422, "invalid", "; ".join(f"{f}: {m}" for f, _, m in problems))


async def on_unexpected(request: Request, exc: Exception) -> Response:
    return await _render(request, 500, "internal_error", "please try again in a moment")


def install(app: FastAPI) -> None:
    app.add_exception_handler(MercatoError, on_mercato_error)
    app.add_exception_handler(StarletteHTTPException, on_http_error)
    app.add_exception_handler(RequestValidationError, on_request_invalid)
    app.add_exception_handler(Exception, on_unexpected)
