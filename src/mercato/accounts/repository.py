from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.models import User, WebSession


async def user_by_id(session: AsyncSession, user_id: int) -> User | None:
    return await session.get(User, user_id)


async def user_by_nick(session: AsyncSession, nick: str) -> User | None:
    result = await session.execute(select(User).where(User.nick_key == nick.strip().lower()))
    return result.scalar_one_or_none()


async def nicks_by_id(session: AsyncSession, ids: Iterable[int]) -> dict[int, str]:
    wanted = set(ids)
    if not wanted:
        return {}
    rows = await session.execute(select(User.id, User.nick).where(User.id.in_(wanted)))
    return {uid: nick for uid, nick in rows}


async def user_of_live_session(
    session: AsyncSession, token_hash: str, now: datetime
) -> User | None:
    """The active user whose unexpired web session has this token hash: one query (plus
    the roles), since every signed-in page asks it."""
    return await session.scalar(
        select(User)
        .join(WebSession, WebSession.user_id == User.id)
        .where(
            WebSession.token_hash == token_hash,
            WebSession.expires_at > now,
            User.status == "normal",
        )
    )


async def delete_web_session(session: AsyncSession, token_hash: str) -> None:
    await session.execute(delete(WebSession).where(WebSession.token_hash == token_hash))


async def delete_expired_sessions(session: AsyncSession, now: datetime) -> int:
    result = await session.execute(delete(WebSession).where(WebSession.expires_at <= now))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
