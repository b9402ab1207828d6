"""Jinja2 environment and the one function that renders a page."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from mercato.kit.money import format_fen
from mercato.web.csrf import CSRF_COOKIE, csrf_token
from mercato.web.deps import current_user, settings_of, storage_of

templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
templates.env.filters["yuan"] = format_fen
templates.env.globals["csrf_token"] = csrf_token


def _local_time(request: Request, value: Any, fmt: str = "%Y-%m-%d %H:%M") -> str:
    if value is None:
        return ""
    return str(value.astimezone(settings_of(request).zone).strftime(fmt))


def _url_with(request: Request, **changes: Any) -> str:
    """The current URL with some query parameters changed (None removes one)."""
    params = dict(request.query_params)
    for key, value in changes.items():
        if value is None or value == "":
            params.pop(key, None)
        else:
            params[key] = str(value)
    return f"{request.url.path}?{urlencode(params)}" if params else request.url.path


templates.env.globals["local_time"] = _local_time
templates.env.globals["url_with"] = _url_with


async def page(
    request: Request, template: str, status_code: int = 200, **context: Any
) -> HTMLResponse:
    """Render a page with the user, CSRF token and media URL helper available."""
    user = await current_user(request)
    context.update(request=request, user=user, media=storage_of(request).url)
    response = templates.TemplateResponse(request, template, context, status_code=status_code)
    new_csrf = getattr(request.state, "new_csrf", None)
    if new_csrf:
        response.set_cookie(
            CSRF_COOKIE,
            new_csrf,
            httponly=True,
            samesite="lax",
            secure=settings_of(request).cookie_secure,
        )
    return response
