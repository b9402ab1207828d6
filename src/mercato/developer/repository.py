"""Every query for developer apps."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.models import App


async def app_by_key(session: AsyncSession, app_key: str) -> App | None:
    """The app with this AppKey (packages loaded), or None."""
    return await session.scalar(select(App).where(App.app_key == app_key))
