"""Every query for authorizations, codes and tokens."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.models import AccessToken, App, Authorization, OAuthCode, User


async def live_token(session: AsyncSession, token_hash: str, now: datetime) -> AccessToken | None:
    """The unexpired, unrevoked access token with this hash whose authorization still
    stands, or None: revoking an authorization ends its tokens at once."""
    return await session.scalar(
        select(AccessToken)
        .join(Authorization, Authorization.id == AccessToken.authorization_id)
        .where(
            AccessToken.token_hash == token_hash,
            AccessToken.expires_at > now,
            AccessToken.revoked_at.is_(None),
            Authorization.revoked_at.is_(None),
        )
    )


async def app_by_key(session: AsyncSession, app_key: str) -> App | None:
    return await session.scalar(select(App).where(App.app_key == app_key))


async def lock_app(session: AsyncSession, app_id: int) -> App | None:
    """The app, its row locked until the transaction ends (PostgreSQL; SQLite serializes
    writers already): authorizations of one app are counted and added one at a time."""
    return await session.scalar(
        select(App)
        .where(App.id == app_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )


async def authorization_of(
    session: AsyncSession, app_id: int, user_id: int
) -> Authorization | None:
    """The user's authorization of the app, revoked or not."""
    return await session.scalar(
        select(Authorization).where(
            Authorization.app_id == app_id, Authorization.user_id == user_id
        )
    )


async def authorization_by_id(session: AsyncSession, authorization_id: int) -> Authorization | None:
    return await session.get(Authorization, authorization_id)


async def count_other_authorized_users(session: AsyncSession, app_id: int, user_id: int) -> int:
    """How many other users currently authorize the app (revoked ones free their place)."""
    found = await session.scalar(
        select(func.count())
        .select_from(Authorization)
        .where(
            Authorization.app_id == app_id,
            Authorization.user_id != user_id,
            Authorization.revoked_at.is_(None),
        )
    )
    return int(found or 0)


async def active_authorizations(
    session: AsyncSession, user_id: int
) -> list[tuple[Authorization, App]]:
    """The user's standing authorizations with their apps, newest first."""
    result = await session.execute(
        select(Authorization, App)
        .join(App, App.id == Authorization.app_id)
        .where(Authorization.user_id == user_id, Authorization.revoked_at.is_(None))
        .order_by(Authorization.created_at.desc(), Authorization.id.desc())
    )
    return [(row[0], row[1]) for row in result.all()]


async def code_by_hash(session: AsyncSession, code_hash: str, app_id: int) -> OAuthCode | None:
    """The code only if it was issued to this app."""
    return await session.scalar(
        select(OAuthCode).where(OAuthCode.code_hash == code_hash, OAuthCode.app_id == app_id)
    )


async def use_code(session: AsyncSession, code_hash: str, now: datetime) -> bool:
    """Mark the code used if it is still unused and unexpired; False when another request
    used it first (the conditional UPDATE makes a code single-use under concurrency)."""
    result = await session.execute(
        update(OAuthCode)
        .where(
            OAuthCode.code_hash == code_hash,
            OAuthCode.used_at.is_(None),
            OAuthCode.expires_at > now,
        )
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0) == 1  # type: ignore[attr-defined]


async def token_by_refresh_hash(
    session: AsyncSession, refresh_hash: str, app_id: int
) -> AccessToken | None:
    """The token row holding this refresh token, only if it belongs to this app."""
    return await session.scalar(
        select(AccessToken).where(
            AccessToken.refresh_hash == refresh_hash, AccessToken.app_id == app_id
        )
    )


async def retire_token(session: AsyncSession, token_id: int, now: datetime) -> bool:
    """Revoke one token row if it is not revoked yet; False when it already was (a refresh
    token is spent once, even by two concurrent refreshes)."""
    result = await session.execute(
        update(AccessToken)
        .where(AccessToken.id == token_id, AccessToken.revoked_at.is_(None))
        .values(revoked_at=now)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0) == 1  # type: ignore[attr-defined]


async def revoke_tokens_of(session: AsyncSession, authorization_id: int, now: datetime) -> int:
    """Revoke every live token of an authorization; how many."""
    result = await session.execute(
        update(AccessToken)
        .where(AccessToken.authorization_id == authorization_id, AccessToken.revoked_at.is_(None))
        .values(revoked_at=now)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def authorized_users_of_app(session: AsyncSession, app_id: int) -> list[User]:
    """The users whose authorization of the app stands now, by nick."""
    result = await session.scalars(
        select(User)
        .join(Authorization, Authorization.user_id == User.id)
        .where(Authorization.app_id == app_id, Authorization.revoked_at.is_(None))
        .order_by(User.nick, User.id)
    )
    return list(result.all())
