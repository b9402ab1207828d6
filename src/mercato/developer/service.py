"""Developer apps: keys and secrets, permission packages, the review that takes an app
online, the IP whitelist and the limits of an app still in development.

Secrets: the plaintext is returned once, by ``create_app`` and ``rotate_secret``; only its
encryption under the server secret is stored (``kit.crypto``), so the gateway can read it
back as an HMAC key (``app_secret``) while a copy of the database reveals nothing.
"""

from __future__ import annotations

import ipaddress
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from sqlalchemy.ext.asyncio import AsyncSession

from mercato.accounts.service import grant_role
from mercato.developer import repository as repo
from mercato.developer.packages import ALL_PACKAGES
from mercato.developer.schemas import (
    check_all,
    clean_app_type,
    clean_callback_url,
    clean_ip_whitelist,
    clean_name,
    clean_packages,
)
from mercato.kit.clock import utcnow
from mercato.kit.crypto import decrypt, encrypt
from mercato.kit.errors import NotFound, PermissionDenied, ValidationFailed
from mercato.models import App, AppPackage, Role, User

DEVELOPMENT = "development"
REVIEWING = "reviewing"
ONLINE = "online"
STATUSES: tuple[str, ...] = (DEVELOPMENT, REVIEWING, ONLINE)

APP_KEY_DIGITS = 8
APP_KEY_ATTEMPTS = 20

# TOP's formal test environment (TOP-PROTOCOL.md §6.3): before an app goes online it may be
# authorized by at most 5 users and make at most 5,000 calls a day.
DEV_MAX_AUTHORIZED_USERS = 5
DEV_DAILY_CALLS = 5_000


@dataclass(frozen=True)
class DevelopmentLimits:
    max_authorized_users: int
    daily_calls: int


def development_limits() -> DevelopmentLimits:
    """The limits of an app that has not passed review, for OAuth and flow control."""
    return DevelopmentLimits(DEV_MAX_AUTHORIZED_USERS, DEV_DAILY_CALLS)


def limits_for(app: App) -> DevelopmentLimits | None:
    """The development limits while the app is not online; None once it is (its tier's
    quotas apply instead)."""
    return None if app.status == ONLINE else development_limits()


# ---------------------------------------------------------------- keys and secrets


def new_app_key() -> str:
    """Eight random digits, never a leading zero (TOP AppKeys are numbers; a client that
    parses one as an integer must get the same key back)."""
    low = 10 ** (APP_KEY_DIGITS - 1)
    return str(low + secrets.randbelow(9 * low))


def new_secret() -> str:
    """32 hex characters, like a TOP AppSecret."""
    return secrets.token_hex(16)


async def _unused_app_key(session: AsyncSession) -> str:
    """A key no app holds; with 90 million keys a collision is rare but possible, so retry
    (the unique constraint remains the last guard against a concurrent twin)."""
    for _ in range(APP_KEY_ATTEMPTS):
        key = new_app_key()
        if not await repo.app_key_taken(session, key):
            return key
    raise RuntimeError("could not find an unused app key")


def app_secret(app: App, server_secret: str) -> str:
    """The app's plaintext secret, for checking a signature. Read from the row every time,
    so a rotation takes effect on the next call."""
    return decrypt(server_secret, app.secret_encrypted)


async def rotate_secret(session: AsyncSession, app: App, *, server_secret: str) -> str:
    """Replace the secret; the old one stops working at once. Returns the new plaintext,
    the only time it is shown."""
    secret = new_secret()
    app.secret_encrypted = encrypt(server_secret, secret)
    app.secret_rotated_at = utcnow()
    await session.flush()
    return secret


# ---------------------------------------------------------------- create and edit


async def create_app(
    session: AsyncSession,
    owner: User,
    *,
    name: str,
    app_type: str,
    callback_url: str = "",
    packages: Iterable[str] | None = None,
    server_secret: str,
) -> tuple[App, str]:
    """Register an app in development status holding ``packages`` (all when None); the
    owner becomes a developer, as opening a shop makes a seller. Returns the app and its
    plaintext secret, shown this once."""
    name, app_type, callback_url, held = check_all(
        lambda: clean_name(name),
        lambda: clean_app_type(app_type),
        lambda: clean_callback_url(callback_url),
        lambda: clean_packages(packages),
    )
    secret = new_secret()
    app = App(
        app_key=await _unused_app_key(session),
        secret_encrypted=encrypt(server_secret, secret),
        owner_id=owner.id,
        name=name,
        app_type=app_type,
        callback_url=callback_url,
        ip_whitelist="",
        status=DEVELOPMENT,
        packages=[AppPackage(package=p) for p in held],
    )
    session.add(app)
    await grant_role(session, owner, Role.developer)
    await session.flush()
    return app, secret


async def update_app(
    session: AsyncSession,
    app: App,
    *,
    name: str | None = None,
    callback_url: str | None = None,
    ip_whitelist: str | Iterable[str] | None = None,
) -> App:
    """Change the given settings (None leaves one as it is); all are checked first."""
    new_name, new_callback, new_whitelist = check_all(
        lambda: None if name is None else clean_name(name),
        lambda: None if callback_url is None else clean_callback_url(callback_url),
        lambda: None if ip_whitelist is None else clean_ip_whitelist(ip_whitelist),
    )
    if new_name is not None:
        app.name = new_name
    if new_callback is not None:
        app.callback_url = new_callback
    if new_whitelist is not None:
        app.ip_whitelist = new_whitelist
    await session.flush()
    return app


async def set_packages(session: AsyncSession, app: App, packages: Iterable[str]) -> App:
    """Hold exactly ``packages``. Rows kept are not rewritten: replacing the whole
    collection would insert a row before deleting its twin with the same key."""
    held = clean_packages(list(packages))
    kept = [row for row in app.packages if row.package in held]
    have = {row.package for row in kept}
    app.packages = kept + [AppPackage(package=name) for name in held if name not in have]
    await session.flush()
    return app


def package_names(app: App) -> list[str]:
    """The packages the app holds, in catalogue order."""
    held = {row.package for row in app.packages}
    return [name for name in ALL_PACKAGES if name in held]


# ---------------------------------------------------------------- review


def _move(app: App, expected: str, to: str) -> None:
    """The one status rule: a step is allowed only from the status it expects."""
    if app.status != expected:
        raise ValidationFailed.one(
            "status", "transition", f"the app is {app.status}; this needs {expected}"
        )
    app.status = to


async def submit_for_review(session: AsyncSession, app: App) -> App:
    """development → reviewing. A callback URL is required first: users authorize an app
    through it, and the reviewer checks it."""
    if not app.callback_url:
        raise ValidationFailed.one("callback_url", "required", "set a callback URL first")
    _move(app, DEVELOPMENT, REVIEWING)
    await session.flush()
    return app


def _require_operator(user: User) -> None:
    if not user.has_role(Role.operator):
        raise PermissionDenied("only the marketplace's operators review apps", code="not_operator")


async def review(session: AsyncSession, operator: User, app: App, approve: bool) -> App:
    """reviewing → online when approved, back to development when rejected."""
    _require_operator(operator)
    _move(app, REVIEWING, ONLINE if approve else DEVELOPMENT)
    await session.flush()
    return app


async def apps_awaiting_review(session: AsyncSession, operator: User) -> list[App]:
    _require_operator(operator)
    return await repo.apps_in_status(session, REVIEWING)


async def app_for_review(session: AsyncSession, operator: User, app_id: int) -> App:
    _require_operator(operator)
    app = await repo.app_by_id(session, app_id)
    if app is None:
        raise NotFound("no such app")
    return app


async def put_online_without_review(session: AsyncSession, app: App) -> App:
    """Sandbox shortcut for the server's own operator (``mercato app create --online``):
    tests and demos need an online app without a reviewer in the loop."""
    app.status = ONLINE
    await session.flush()
    return app


# ---------------------------------------------------------------- lookups


async def my_apps(session: AsyncSession, owner: User) -> list[App]:
    return await repo.apps_of_owner(session, owner.id)


async def get_own_app(session: AsyncSession, owner: User, app_id: int) -> App:
    """The owner's app; another developer's is not found (not forbidden: its existence
    is not theirs to learn)."""
    app = await repo.owned_app(session, owner.id, app_id)
    if app is None:
        raise NotFound("no such app")
    return app


async def get_app_by_key(session: AsyncSession, app_key: str) -> App:
    app = await repo.app_by_key(session, app_key.strip())
    if app is None:
        raise NotFound(f"no app with key {app_key[:20]}")
    return app


# ---------------------------------------------------------------- IP whitelist


def ip_allowed(app: App, ip: str) -> bool:
    """May a call from ``ip`` use this app? An empty whitelist allows any address; an
    unparsable address is refused when there is a whitelist."""
    if not app.ip_whitelist:
        return True
    try:
        address = ipaddress.ip_address(ip.strip())
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped  # a dual-stack server sees IPv4 clients as ::ffff:a.b.c.d
    return any(address in network for network in _networks(app.ip_whitelist))


@lru_cache(maxsize=4096)
def _networks(whitelist: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    """Parsed once per distinct whitelist: the gateway asks on every call. Stored lists
    are normalised by ``update_app``; an entry that still does not parse (a row written
    some other way) allows nothing rather than failing the call."""
    networks = []
    for part in whitelist.split(","):
        try:
            networks.append(ipaddress.ip_network(part.strip(), strict=False))
        except ValueError:
            continue
    return tuple(networks)
