"""What the gateway caches of its two per-call lookups (``mercato.kit.cache``): the app
behind an ``app_key`` with its decrypted secret, and the user behind a session key.

Without the cache each signed call spends five statements before reaching its handler
(docs/benchmarks.md, the gateway scenario). A change to an app, its packages, an
authorization, a token, a user or their roles made in this process is seen by the next
call; another server process sees it within ``MERCATO_GATEWAY_AUTH_CACHE_S`` (1 s by
default, 0 turns the cache off; docs/adr/0003-in-process-caches.md). A session entry also
lapses when its token expires by the platform clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from mercato.kit.cache import Watch
from mercato.models import AccessToken, App, AppPackage, Authorization, User, UserRole

AUTH_ROWS = Watch(App, AppPackage, Authorization, AccessToken, User, UserRole)
APPS = "gateway.apps"
SESSIONS = "gateway.sessions"


@dataclass(frozen=True)
class SignedApp:
    """An app as the gateway checks it, with the secret its calls are signed with."""

    app: App
    secret: str


@dataclass(frozen=True)
class LiveSession:
    """The user and app a live session key acts for, and when the key expires."""

    user: User
    app: App
    expires_at: datetime
