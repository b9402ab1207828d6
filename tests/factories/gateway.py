"""Developer apps and access tokens for gateway tests, made directly with the models (the
developer and OAuth services are not needed to exercise the gateway)."""

from __future__ import annotations

import itertools
import secrets
from collections.abc import Iterable
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.kit import crypto
from mercato.kit.clock import utcnow
from mercato.models import AccessToken, App, AppPackage, Authorization, User

SERVER_SECRET = "test-secret-key"  # the tests' Settings(secret_key=...)
_keys = itertools.count(int("21000000"))


async def make_app(
    session: AsyncSession,
    owner: User,
    *,
    packages: Iterable[str] = ("items-read", "trades-read"),
    status: str = "development",
    ip_whitelist: str = "",
    server_secret: str = SERVER_SECRET,
    secret: str | None = None,
    name: str | None = None,
    app_type: str = "seller_tool",
    callback_url: str = "",
) -> tuple[App, str]:
    """A developer app and its plain secret (random unless given)."""
    secret = secret or secrets.token_hex(16)
    app = App(
        app_key=str(next(_keys)),
        secret_encrypted=crypto.encrypt(server_secret, secret),
        owner_id=owner.id,
        name=name or f"app {secrets.token_hex(3)}",
        app_type=app_type,
        callback_url=callback_url,
        ip_whitelist=ip_whitelist,
        status=status,
    )
    app.packages = [AppPackage(package=p) for p in packages]
    session.add(app)
    await session.flush()
    return app, secret


async def make_token(
    session: AsyncSession,
    app: App,
    user: User,
    *,
    expires_in: timedelta = timedelta(hours=24),
    revoked: bool = False,
) -> str:
    """A live access token (the TOP ``session``) for ``user`` on ``app``; its plain value."""
    now = utcnow()
    authorization = await session.scalar(
        select(Authorization).where(
            Authorization.app_id == app.id, Authorization.user_id == user.id
        )
    )
    if authorization is None:
        authorization = Authorization(app_id=app.id, user_id=user.id, created_at=now)
        session.add(authorization)
        await session.flush()
    token = secrets.token_urlsafe(24)
    session.add(
        AccessToken(
            token_hash=crypto.sha256_hex(token),
            authorization_id=authorization.id,
            app_id=app.id,
            user_id=user.id,
            created_at=now,
            expires_at=now + expires_in,
            revoked_at=now if revoked else None,
        )
    )
    await session.flush()
    return token
