"""Users for tests, made through the accounts service."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from mercato.accounts import service as accounts
from mercato.models import Role, User

PASSWORD = "correct horse battery"


async def make_user(
    session: AsyncSession, nick: str, roles: set[Role] | None = None, password: str = PASSWORD
) -> User:
    return await accounts.sign_up(session, accounts.parse_sign_up(nick, password), roles)
