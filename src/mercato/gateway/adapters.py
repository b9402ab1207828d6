"""The gateway's calls into the developer and OAuth domains, each in ONE place."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from mercato.developer import service as developer
from mercato.models import App, User
from mercato.oauth import service as oauth

# Statuses in which an app may call the API at all.
LIVE_APP_STATUSES = frozenset({"development", "reviewing", "online"})


def app_secret(app: App, server_secret: str) -> str:
    """The app's signing secret."""
    return developer.app_secret(app, server_secret)


def ip_allowed(app: App, ip: str) -> bool:
    """Whether ``ip`` may call for ``app`` (its whitelist; empty allows all)."""
    return developer.ip_allowed(app, ip)


async def resolve_session(session: AsyncSession, token: str) -> tuple[User, App] | None:
    """The user and app of a live access token, or None."""
    return await oauth.resolve_session(session, token)
