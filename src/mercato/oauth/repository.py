"""Every query for authorizations, codes and tokens."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.models import AccessToken, Authorization


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
