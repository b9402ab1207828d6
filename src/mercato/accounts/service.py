"""Accounts: sign-up, sign-in, roles, and browser sessions."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from datetime import timedelta

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.accounts import repository as repo
from mercato.accounts.schemas import SignUpInput
from mercato.kit.clock import utcnow
from mercato.kit.errors import PermissionDenied, ValidationFailed, problems_from_pydantic
from mercato.kit.passwords import hash_password, hash_password_async, verify_password_async
from mercato.models import Role, User, UserRole, WebSession

# Verified against when the nick is unknown, so that a wrong nick costs as long as a wrong
# password and response times do not reveal which nicks exist.
_DUMMY_HASH = hash_password(secrets.token_urlsafe(16))


def parse_sign_up(nick: str, password: str, email: str | None = None) -> SignUpInput:
    try:
        return SignUpInput(nick=nick, password=password, email=email or None)
    except ValidationError as exc:
        raise problems_from_pydantic(exc) from None


async def sign_up(session: AsyncSession, data: SignUpInput, roles: set[Role] | None = None) -> User:
    """Create a user; every user can buy."""
    # Hash before the first query: on SQLite a write unit holds the write lock from then on.
    password_hash = await hash_password_async(data.password)
    if await repo.user_by_nick(session, data.nick):
        raise ValidationFailed.one("nick", "unique", "this nick is taken")
    user = User(
        nick=data.nick,
        nick_key=data.nick.lower(),
        email=data.email,
        password_hash=password_hash,
    )
    user.roles = [UserRole(role=r.value) for r in sorted({Role.buyer, *(roles or set())})]
    session.add(user)
    await session.flush()
    return user


async def authenticate(session: AsyncSession, nick: str, password: str) -> User | None:
    """The user whose nick and password these are, or None. Suspended users cannot sign in.
    Reads only, so it can run in a read unit of work."""
    user = await repo.user_by_nick(session, nick)
    if user is None:
        await verify_password_async(_DUMMY_HASH, password)
        return None
    if not await verify_password_async(user.password_hash, password):
        return None
    if user.status != "normal":
        raise PermissionDenied("this account is suspended", code="account_suspended")
    return user


async def nicks(session: AsyncSession, user_ids: Iterable[int]) -> dict[int, str]:
    """Nicks by user id, for showing who bought, sold or rated."""
    return await repo.nicks_by_id(session, user_ids)


async def grant_role(session: AsyncSession, user: User, role: Role) -> None:
    if not user.has_role(role):
        user.roles.append(UserRole(role=role.value))
        await session.flush()


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def open_web_session(
    session: AsyncSession, user: User, *, days: int, user_agent: str | None = None
) -> str:
    """Start a browser session and return the token for its cookie."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    session.add(
        WebSession(
            token_hash=_token_hash(token),
            user_id=user.id,
            created_at=now,
            expires_at=now + timedelta(days=days),
            user_agent=(user_agent or "")[:300] or None,
        )
    )
    await session.flush()
    return token


async def user_for_token(session: AsyncSession, token: str) -> User | None:
    """The signed-in user behind a cookie token, if the session is live and the user active."""
    return await repo.user_of_live_session(session, _token_hash(token), utcnow())


async def close_web_session(session: AsyncSession, token: str) -> None:
    await repo.delete_web_session(session, _token_hash(token))


async def find_user(session: AsyncSession, nick: str) -> User | None:
    """The user with this nick (case-insensitive), or None."""
    return await repo.user_by_nick(session, nick)
