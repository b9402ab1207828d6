from __future__ import annotations

import pytest

from mercato.kit.db import Database
from mercato.models import User, UserRole
from tests.trade.conftest import Shop2, w  # noqa: F401  (the trade world, reused)

__all__ = ["Shop2"]


@pytest.fixture
async def operator(db: Database) -> User:
    async with db.write() as session:
        user = User(
            nick="xiaoer",
            nick_key="xiaoer",
            password_hash="not-a-real-hash",
            roles=[UserRole(role="operator")],
        )
        session.add(user)
        await session.flush()
    return user
