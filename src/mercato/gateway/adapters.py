"""The gateway's calls into the developer and OAuth domains, each in ONE place; the two
lookups every call makes go through the server's cache (``authcache``)."""

from __future__ import annotations

from mercato.developer import repository as developer_repo
from mercato.developer import service as developer
from mercato.gateway.authcache import APPS, AUTH_ROWS, SESSIONS, LiveSession, SignedApp
from mercato.kit import cache, crypto
from mercato.kit.clock import utcnow
from mercato.kit.db import Database
from mercato.models import App
from mercato.oauth import service as oauth

# Statuses in which an app may call the API at all.
LIVE_APP_STATUSES = frozenset({"development", "reviewing", "online"})
MAX_APP_KEY = 16  # longer keys are never looked up


def app_secret(app: App, server_secret: str) -> str:
    """The app's signing secret (raises ``crypto.UnreadableSecret``)."""
    return developer.app_secret(app, server_secret)


def ip_allowed(app: App, ip: str) -> bool:
    """Whether ``ip`` may call for ``app`` (its whitelist; empty allows all)."""
    return developer.ip_allowed(app, ip)


async def signed_app(
    db: Database, app_key: str, server_secret: str, ttl_s: float
) -> SignedApp | None:
    """The app with this key and its secret, or None for an unknown key. A unit of work is
    opened only when the cache does not answer."""
    if len(app_key) > MAX_APP_KEY:
        return None
    apps = cache.cache_in(db.caches, APPS, AUTH_ROWS, ttl_s)
    found: SignedApp | None = apps.get(app_key)
    if found is None:
        seen = AUTH_ROWS.generation
        async with db.read() as session:
            app = await developer_repo.app_by_key(session, app_key)
            if app is None:
                return None
            cache.keep(session, app)
        found = SignedApp(app, app_secret(app, server_secret))
        apps.put(app_key, found, seen)
    return found


async def live_session(db: Database, token: str, ttl_s: float) -> LiveSession | None:
    """The user and app of a live access token, or None."""
    sessions = cache.cache_in(db.caches, SESSIONS, AUTH_ROWS, ttl_s)
    token_hash = crypto.sha256_hex(token)
    found: LiveSession | None = sessions.get(token_hash)
    if found is not None and found.expires_at <= utcnow():
        found = None  # expired by the platform clock since it was cached
    if found is None:
        seen = AUTH_ROWS.generation
        async with db.read() as session:
            resolved = await oauth.live_session(session, token)
            if resolved is None:
                return None
            found = LiveSession(*resolved)
            cache.keep(session, found.user, found.app)
        sessions.put(token_hash, found, seen)
    return found
