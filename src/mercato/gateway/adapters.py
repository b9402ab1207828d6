"""The gateway's calls into the developer and OAuth domains, each in ONE place."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from mercato.developer import service as developer
from mercato.kit import crypto
from mercato.kit.clock import utcnow
from mercato.models import App, User
from mercato.oauth import repository as oauth_repo

# Statuses in which an app may call the API at all.
LIVE_APP_STATUSES = frozenset({"development", "reviewing", "online"})


def app_secret(app: App, server_secret: str) -> str:
    """The app's signing secret."""
    return developer.app_secret(app, server_secret)


def ip_allowed(app: App, ip: str) -> bool:
    """Whether ``ip`` may call for ``app`` (its whitelist; empty allows all)."""
    return developer.ip_allowed(app, ip)


async def resolve_session(session: AsyncSession, token: str) -> tuple[User, App] | None:
    """The user and app of a live access token, or None (unknown, expired, revoked, the
    authorization withdrawn, or the user not in good standing).
    Later: ``oauth.service.resolve_session``."""
    access = await oauth_repo.live_token(session, crypto.sha256_hex(token), utcnow())
    if access is None:
        return None
    user = await session.get(User, access.user_id)
    app = await session.get(App, access.app_id)
    if user is None or app is None or user.status != "normal":
        return None
    return user, app
