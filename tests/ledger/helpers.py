"""Users for ledger and payment tests, made directly (no password hashing: these tests make
many)."""

from __future__ import annotations

import itertools

from sqlalchemy.ext.asyncio import AsyncSession

from mercato.models import User

_counter = itertools.count(1)


async def new_user(session: AsyncSession, prefix: str = "u") -> int:
    nick = f"{prefix}{next(_counter)}"
    user = User(nick=nick, nick_key=nick.lower(), password_hash="x")
    session.add(user)
    await session.flush()
    return user.id
