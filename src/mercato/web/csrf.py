"""CSRF protection for every form: a random value in an HttpOnly cookie, and in each form a
token that is an HMAC of that value under the server secret. A forged cross-site post carries
the cookie but cannot know the token."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from fastapi import Request

from mercato.kit.errors import PermissionDenied

CSRF_COOKIE = "mercato_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


def _sign(secret: str, value: str) -> str:
    return hmac.new(secret.encode(), value.encode(), hashlib.sha256).hexdigest()


def _secret(request: Request) -> str:
    return str(request.app.state.secret_key)


def csrf_token(request: Request) -> str:
    """The token for forms on this page; issues a cookie value if the browser has none."""
    value = request.cookies.get(CSRF_COOKIE) or getattr(request.state, "new_csrf", None)
    if not value:
        value = secrets.token_urlsafe(24)
        request.state.new_csrf = value
    return _sign(_secret(request), value)


async def csrf_protect(request: Request) -> None:
    """Dependency for the web routers: unsafe methods must carry a valid token."""
    if request.method in SAFE_METHODS:
        return
    cookie = request.cookies.get(CSRF_COOKIE, "")
    sent = request.headers.get(CSRF_HEADER, "")
    if not sent:
        form = await request.form()
        sent = str(form.get(CSRF_FIELD, ""))
    expected = _sign(_secret(request), cookie) if cookie else ""
    if not (cookie and sent and hmac.compare_digest(sent, expected)):
        raise PermissionDenied(
            "the form expired or came from another site; reload the page and try again",
            code="csrf_failed",
        )
