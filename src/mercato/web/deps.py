"""What a page handler needs from the request: the database, storage, settings and the user."""

from __future__ import annotations

from typing import Annotated, cast

from fastapi import Path, Request

from mercato.accounts import service as accounts
from mercato.config import Settings
from mercato.kit.db import Database
from mercato.kit.errors import AuthenticationRequired, PermissionDenied
from mercato.kit.storage import Storage
from mercato.models import Role, User
from mercato.trade.policy import Timeouts

SESSION_COOKIE = "mercato_session"

# A row id in a URL. Anything else (letters, zero, beyond 64 bits) names no page: the
# request-validation handler answers 404.
PathId = Annotated[int, Path(ge=1, le=2**63 - 1)]


def settings_of(request: Request) -> Settings:
    return cast(Settings, request.app.state.settings)


def timeouts_of(request: Request) -> Timeouts:
    """The trade and after-sales timers of this app's settings."""
    return Timeouts.from_settings(settings_of(request))


def db_of(request: Request) -> Database:
    return cast(Database, request.app.state.db)


def storage_of(request: Request) -> Storage:
    return cast(Storage, request.app.state.storage)


async def current_user(request: Request) -> User | None:
    """The signed-in user, looked up once per request."""
    if hasattr(request.state, "user"):
        return cast(User | None, request.state.user)
    user = None
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        async with db_of(request).read() as session:
            user = await accounts.user_for_token(session, token)
    request.state.user = user
    return user


async def require_user(request: Request) -> User:
    user = await current_user(request)
    if user is None:
        raise AuthenticationRequired("please sign in")
    return user


async def require_seller(request: Request) -> User:
    user = await require_user(request)
    if not user.has_role(Role.seller):
        raise PermissionDenied("open a shop first", code="not_a_seller")
    return user


async def require_developer(request: Request) -> User:
    """A signed-in developer (registering a first app grants the role)."""
    user = await require_user(request)
    if not user.has_role(Role.developer):
        raise PermissionDenied("register an app first · 请先创建应用", code="not_a_developer")
    return user
