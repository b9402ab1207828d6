"""The OAuth 2.0 authorization server, as TOP runs it (TOP-PROTOCOL.md §7).

A user's consent is an ``Authorization`` (one per app and user, revived when they consent
again). From it come single-use authorization codes (5 minutes; only their SHA-256 is kept)
and access tokens (only hashes kept too). Revoking the authorization kills its tokens at once.

Token lifetimes follow TOP's rule by app type (§7.3):

- ``seller_tool`` / ``buyer_tool`` (merchant back-office tools): a fixed one-year token that
  cannot be refreshed (``re_expires_in`` 0; a refresh is refused);
- ``service_market`` (TOP's "online order" apps): 24 hours while the app is in development,
  ``SERVICE_MARKET_ONLINE_TTL`` once online (TOP uses the subscription length; Mercato has no
  subscriptions yet), refreshable for ``SERVICE_MARKET_REFRESH_TTL``.

Mercato does not grade APIs by security level, so the r1/r2/w1/w2 validities all equal the
token's own lifetime.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import quote, unquote, urlencode

from sqlalchemy.ext.asyncio import AsyncSession

from mercato.developer import service as developer
from mercato.developer.packages import PACKAGES
from mercato.kit import crypto
from mercato.kit.clock import utcnow
from mercato.kit.errors import NotFound, PermissionDenied
from mercato.models import AccessToken, App, Authorization, OAuthCode, User
from mercato.oauth import repository as repo
from mercato.oauth.schemas import FRAGMENT_FIELDS, AuthorizedApp, TokenResult

CODE_TTL = timedelta(minutes=5)
FIXED_TOKEN_TTL = timedelta(days=365)  # seller and buyer tools; not refreshable
SERVICE_MARKET_DEV_TTL = timedelta(hours=24)
SERVICE_MARKET_ONLINE_TTL = timedelta(days=30)
SERVICE_MARKET_REFRESH_TTL = timedelta(days=30)

REFRESHABLE_APP_TYPES = frozenset({"service_market"})
ACTIVE_USER_STATUS = "normal"

_OPEN_UID_LABEL = "mercato/open-uid/v1"


class OAuthError(Exception):
    """An OAuth failure in TOP's shape: HTTP 400 with ``error`` and ``error_description``."""

    status = 400

    def __init__(self, error: str, description: str) -> None:
        super().__init__(f"{error}: {description}")
        self.error = error
        self.description = description

    def as_dict(self) -> dict[str, str]:
        return {"error": self.error, "error_description": self.description}


REDIRECT_MISMATCH = "application callback can not match the redirect_uri"


def _code_invalid(code: str) -> OAuthError:
    return OAuthError(
        "invalid_client", f"authorize code {code[:64]} invalidate,please authorize again."
    )


# ---------------------------------------------------------------- the client


def _app_secret(app: App, server_secret: str) -> str:
    """The app's plaintext secret (the developer domain keeps it encrypted at rest)."""
    return developer.app_secret(app, server_secret)


def _max_authorized_users(app: App) -> int | None:
    """How many users may authorize the app: TOP's test environment allows 5 before an
    app goes online; online apps have no limit."""
    limits = developer.limits_for(app)
    return None if limits is None else limits.max_authorized_users


async def client_for_redirect(session: AsyncSession, client_id: str, redirect_uri: str) -> App:
    """The app whose registered callback is exactly ``redirect_uri``. Anything else is
    ``invalid_client``: the caller must never redirect to an unverified address."""
    app = await repo.app_by_key(session, client_id.strip()) if client_id else None
    if app is None or not app.callback_url or app.callback_url != redirect_uri:
        raise OAuthError("invalid_client", REDIRECT_MISMATCH)
    return app


async def authenticate_client(
    session: AsyncSession, client_id: str, client_secret: str, *, server_secret: str
) -> App:
    """The app named ``client_id`` if ``client_secret`` is its secret (compared in constant
    time); otherwise ``invalid_client``."""
    app = await repo.app_by_key(session, client_id.strip()) if client_id else None
    if app is None:
        raise OAuthError("invalid_client", "client_id is invalid")
    expected = _app_secret(app, server_secret)
    if not hmac.compare_digest(expected.encode(), client_secret.encode()):
        raise OAuthError("invalid_client", "client_secret is invalid")
    return app


def package_titles(app: App) -> list[str]:
    """The app's permission packages in plain words, in catalogue order."""
    held = {row.package for row in app.packages}
    known = [p.title for name, p in PACKAGES.items() if name in held]
    return known + sorted(held - set(PACKAGES))


# ---------------------------------------------------------------- consent


async def authorize(session: AsyncSession, app: App, user: User) -> Authorization:
    """Record the user's consent (a new authorization, or a revoked one revived). An app in
    development takes at most its limit of distinct users; the next one is refused."""
    now = utcnow()
    await repo.lock_app(session, app.id)  # authorizations of one app, one at a time
    existing = await repo.authorization_of(session, app.id, user.id)
    if existing is not None and existing.revoked_at is None:
        return existing
    limit = _max_authorized_users(app)
    if (
        limit is not None
        and await repo.count_other_authorized_users(session, app.id, user.id) >= limit
    ):
        raise PermissionDenied(
            f"this app is still in development and may be authorized by at most {limit} users"
            f" · 该应用处于开发阶段，最多 {limit} 个用户授权",
            code="authorized_user_limit",
        )
    if existing is not None:
        existing.revoked_at = None
        existing.created_at = now
        await session.flush()
        return existing
    authorization = Authorization(app_id=app.id, user_id=user.id, created_at=now)
    session.add(authorization)
    await session.flush()
    return authorization


async def create_code(
    session: AsyncSession, app: App, user: User, *, redirect_uri: str, view: str = "web"
) -> str:
    """A fresh authorization code bound to the app, the user and the redirect URI; only its
    hash is stored. Call ``authorize`` first."""
    now = utcnow()
    code = secrets.token_urlsafe(24)
    session.add(
        OAuthCode(
            code_hash=crypto.sha256_hex(code),
            app_id=app.id,
            user_id=user.id,
            redirect_uri=redirect_uri,
            view=view,
            created_at=now,
            expires_at=now + CODE_TTL,
        )
    )
    await session.flush()
    return code


# ---------------------------------------------------------------- tokens


@dataclass(frozen=True)
class Lifetimes:
    access: timedelta
    refresh: timedelta | None  # None: the token cannot be refreshed


def lifetimes(app: App) -> Lifetimes:
    """How long tokens for this app last (see the module docstring)."""
    if app.app_type not in REFRESHABLE_APP_TYPES:
        return Lifetimes(FIXED_TOKEN_TTL, None)
    access = SERVICE_MARKET_ONLINE_TTL if app.status == developer.ONLINE else SERVICE_MARKET_DEV_TTL
    return Lifetimes(access, SERVICE_MARKET_REFRESH_TTL)


def open_uid(app: App, user_id: int, server_secret: str) -> str:
    """An app-scoped opaque user id: stable for one app, unlinkable across apps."""
    message = f"{_OPEN_UID_LABEL}:{app.app_key}:{user_id}".encode()
    digest = hmac.new(server_secret.encode(), message, hashlib.sha256).hexdigest()
    return "AA" + digest[:30]


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _token_result(
    app: App, user: User, access: str, refresh: str, row: AccessToken, server_secret: str
) -> TokenResult:
    issued = row.created_at
    expires_in = round((row.expires_at - issued).total_seconds())
    refresh_until = row.refresh_expires_at or issued
    re_expires_in = round((refresh_until - issued).total_seconds())
    expire_ms = _ms(row.expires_at)
    return TokenResult(
        access_token=access,
        expires_in=expires_in,
        refresh_token=refresh,
        re_expires_in=re_expires_in,
        r1_expires_in=expires_in,
        r2_expires_in=expires_in,
        w1_expires_in=expires_in,
        w2_expires_in=expires_in,
        r1_valid=expire_ms,
        r2_valid=expire_ms,
        w1_valid=expire_ms,
        w2_valid=expire_ms,
        expire_time=expire_ms,
        refresh_token_valid_time=_ms(refresh_until),
        taobao_user_id=str(user.id),
        taobao_user_nick=quote(user.nick, safe=""),
        taobao_open_uid=open_uid(app, user.id, server_secret),
    )


def _new_key(prefix: str, user_id: int) -> str:
    """A token in TOP's sample form "6201…ZZ…<user_id>" (62 access, 63 refresh); the random
    part carries 160 bits."""
    return f"{prefix}{secrets.token_hex(20)}ZZ{user_id}"


async def _add_token(
    session: AsyncSession,
    authorization: Authorization,
    access_life: timedelta,
    refresh: str | None = None,
    refresh_life: timedelta | None = None,
) -> tuple[str, AccessToken]:
    """A new token of ``authorization``, stored hashed, with ``refresh`` as its refresh key
    (if any): the access key and the row."""
    now = utcnow()
    access = _new_key("62", authorization.user_id)
    row = AccessToken(
        token_hash=crypto.sha256_hex(access),
        refresh_hash=None if refresh is None else crypto.sha256_hex(refresh),
        authorization_id=authorization.id,
        app_id=authorization.app_id,
        user_id=authorization.user_id,
        created_at=now,
        expires_at=now + access_life,
        refresh_expires_at=None if refresh_life is None else now + refresh_life,
    )
    session.add(row)
    await session.flush()
    return access, row


async def _issue(
    session: AsyncSession,
    app: App,
    user: User,
    authorization: Authorization,
    *,
    server_secret: str,
) -> dict[str, object]:
    life = lifetimes(app)
    refresh = _new_key("63", user.id)
    access, row = await _add_token(session, authorization, life.access, refresh, life.refresh)
    return _token_result(app, user, access, refresh, row, server_secret).as_dict()


async def issue_token_for(
    session: AsyncSession, app: App, user: User, *, server_secret: str
) -> dict[str, object]:
    """Authorize ``app`` for ``user`` if needed and issue a token: the §7.3 fields. For the
    implicit flow, the CLI and sandbox tools."""
    authorization = await authorize(session, app, user)
    return await _issue(session, app, user, authorization, server_secret=server_secret)


async def exchange_code(
    session: AsyncSession,
    app: App,
    code: str,
    *,
    server_secret: str,
    redirect_uri: str | None = None,
) -> dict[str, object]:
    """Trade an authorization code issued to ``app`` (already authenticated by the caller:
    client secret or signature) for a token. ``redirect_uri``, when given, must be the one
    the code was issued for. The code is spent exactly once, even under concurrency."""
    now = utcnow()
    code_hash = crypto.sha256_hex(code)
    row = await repo.code_by_hash(session, code_hash, app.id) if code else None
    if row is None or row.used_at is not None or row.expires_at <= now:
        raise _code_invalid(code)
    if redirect_uri is not None and redirect_uri != row.redirect_uri:
        raise OAuthError("invalid_client", REDIRECT_MISMATCH)
    if not await repo.use_code(session, code_hash, now):
        raise _code_invalid(code)
    authorization = await repo.authorization_of(session, app.id, row.user_id)
    user = await session.get(User, row.user_id)
    if authorization is None or authorization.revoked_at is not None:
        raise _code_invalid(code)  # the user withdrew consent meanwhile
    if user is None or user.status != ACTIVE_USER_STATUS:
        raise OAuthError("invalid_client", "the authorizing user is not active")
    return await _issue(session, app, user, authorization, server_secret=server_secret)


async def refresh(
    session: AsyncSession, app: App, refresh_token: str, *, server_secret: str
) -> dict[str, object]:
    """A new token for a refresh token of ``app`` (already authenticated). Only
    service-market apps refresh; the old token and its refresh token stop working."""
    now = utcnow()
    row = (
        await repo.token_by_refresh_hash(session, crypto.sha256_hex(refresh_token), app.id)
        if refresh_token
        else None
    )
    if row is None:
        raise OAuthError("invalid_grant", "refresh_token is invalid")
    if row.refresh_expires_at is None or app.app_type not in REFRESHABLE_APP_TYPES:
        raise OAuthError(
            "invalid_grant",
            "this app's tokens cannot be refreshed: only service-market apps can refresh",
        )
    if row.refresh_expires_at <= now or row.revoked_at is not None:
        raise OAuthError("invalid_grant", "refresh_token is expired or already used")
    authorization = await repo.authorization_by_id(session, row.authorization_id)
    if authorization is None or authorization.revoked_at is not None:
        raise OAuthError("invalid_grant", "the authorization was revoked; authorize again")
    user = await session.get(User, row.user_id)
    if user is None or user.status != ACTIVE_USER_STATUS:
        raise OAuthError("invalid_grant", "the authorizing user is not active")
    if not await repo.retire_token(session, row.id, now):
        raise OAuthError("invalid_grant", "refresh_token is expired or already used")
    return await _issue(session, app, user, authorization, server_secret=server_secret)


# ---------------------------------------------------------------- sessions and revocation


async def resolve_session(session: AsyncSession, token: str) -> tuple[User, App] | None:
    """The user and app of a live access token, or None (unknown, expired, revoked, the
    authorization withdrawn, or the user not in good standing)."""
    found = await live_session(session, token)
    return None if found is None else (found[0], found[1])


async def live_session(session: AsyncSession, token: str) -> tuple[User, App, datetime] | None:
    """As ``resolve_session``, with the moment the token expires."""
    access = await repo.live_token(session, crypto.sha256_hex(token), utcnow())
    if access is None:
        return None
    user = await session.get(User, access.user_id)
    app = await session.get(App, access.app_id)
    if user is None or app is None or user.status != ACTIVE_USER_STATUS:
        return None
    return user, app, access.expires_at


async def revoke(session: AsyncSession, user: User, app_id: int) -> None:
    """Withdraw the user's consent to the app; every token it issued stops working at once."""
    now = utcnow()
    authorization = await repo.authorization_of(session, app_id, user.id)
    if authorization is None or authorization.revoked_at is not None:
        raise NotFound("this app is not authorized")
    authorization.revoked_at = now
    await repo.revoke_tokens_of(session, authorization.id, now)
    await session.flush()


async def authorized_apps(session: AsyncSession, user: User) -> list[AuthorizedApp]:
    """The apps the user authorizes now, newest consent first."""
    rows = await repo.active_authorizations(session, user.id)
    return [AuthorizedApp.of(app, auth.created_at, package_titles(app)) for auth, app in rows]


# ---------------------------------------------------------------- redirects


def with_query(uri: str, params: dict[str, str]) -> str:
    """``uri`` with ``params`` appended to its query (percent-encoded, spaces as %20)."""
    joiner = "&" if "?" in uri else "?"
    return uri + joiner + urlencode(params, quote_via=quote)


def _top_sign(secret: str, fields: dict[str, str]) -> str:
    """TOP's md5 signature (§3) over the fragment's fields: upper-case hex MD5 of the secret,
    every name and value sorted by name, and the secret again. The app verifies it with the
    same routine it signs requests with."""
    joined = "".join(f"{k}{v}" for k, v in sorted(fields.items()))
    return hashlib.md5(f"{secret}{joined}{secret}".encode()).hexdigest().upper()


def implicit_redirect(
    app: App, token: dict[str, object], *, redirect_uri: str, state: str, server_secret: str
) -> str:
    """The client-side flow's redirect: §7.1's fields, ``state`` and ``top_sign`` in the
    fragment. The nick goes in decoded, so the fragment carries it percent-encoded once."""
    fields = {name: str(token[name]) for name in FRAGMENT_FIELDS}
    fields["taobao_user_nick"] = unquote(fields["taobao_user_nick"])
    if state:
        fields["state"] = state
    fields["top_sign"] = _top_sign(_app_secret(app, server_secret), fields)
    return f"{redirect_uri.split('#', 1)[0]}#{urlencode(fields, quote_via=quote)}"


# ---------------------------------------------------------------- the console's API explorer

# Long enough for a sitting in the explorer, short enough that the tokens it leaves behind
# are dead soon after.
EXPLORER_TOKEN_TTL = timedelta(minutes=15)


async def authorized_users(session: AsyncSession, app: App) -> list[User]:
    """The users in good standing who authorize ``app`` now, by nick."""
    users = await repo.authorized_users_of_app(session, app.id)
    return [u for u in users if u.status == ACTIVE_USER_STATUS]


async def explorer_token(session: AsyncSession, app: App, user_id: int, *, reuse: str = "") -> str:
    """A session key with which the app's developer calls the API as ``user_id`` from the
    console's explorer.

    Only for a user who authorizes the app now (else ``PermissionDenied``): the app already
    holds that consent, so the key grants nothing its own tokens do not, and no authorization
    is ever created. It lasts ``EXPLORER_TOKEN_TTL``, cannot be refreshed, and revokes
    nothing, so the app's live tokens for the user keep working. ``reuse`` is a key this
    returned before (the page posts it back): while it is still live for the same app and
    user it is returned unchanged, so repeated calls do not pile up tokens.
    """
    if reuse:
        found = await resolve_session(session, reuse)
        if found is not None and found[0].id == user_id and found[1].id == app.id:
            return reuse
    authorization = await repo.authorization_of(session, app.id, user_id)
    user = await session.get(User, user_id)
    if authorization is None or authorization.revoked_at is not None:
        raise PermissionDenied("this user has not authorized the app", code="not_authorized")
    if user is None or user.status != ACTIVE_USER_STATUS:
        raise PermissionDenied("the authorizing user is not active", code="not_authorized")
    token, _row = await _add_token(session, authorization, EXPLORER_TOKEN_TTL)
    return token
