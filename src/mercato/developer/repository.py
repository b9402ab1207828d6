"""Every query for developer apps.

Tenancy lives here: a developer's lookups always carry the owner, so another developer's
app is simply not found, whatever page or command asks.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.models import App


async def app_by_key(session: AsyncSession, app_key: str) -> App | None:
    """The app with this AppKey (packages loaded), or None."""
    return await session.scalar(select(App).where(App.app_key == app_key))


async def app_key_taken(session: AsyncSession, app_key: str) -> bool:
    found = await session.scalar(select(App.id).where(App.app_key == app_key))
    return found is not None


async def owned_app(session: AsyncSession, owner_id: int, app_id: int) -> App | None:
    """The app ``app_id`` only if ``owner_id`` owns it."""
    return await session.scalar(select(App).where(App.id == app_id, App.owner_id == owner_id))


async def apps_of_owner(session: AsyncSession, owner_id: int) -> list[App]:
    result = await session.scalars(
        select(App).where(App.owner_id == owner_id).order_by(App.id.desc())
    )
    return list(result)


async def apps_in_status(session: AsyncSession, status: str) -> list[App]:
    """Apps in one status, oldest first (the review queue is first come, first served)."""
    result = await session.scalars(select(App).where(App.status == status).order_by(App.id))
    return list(result)


async def app_by_id(session: AsyncSession, app_id: int) -> App | None:
    """Any app by id: for the operator, who reviews every developer's apps."""
    return await session.get(App, app_id)


async def all_apps(session: AsyncSession) -> list[App]:
    """Every app, newest first (the server operator's CLI listing)."""
    return list(await session.scalars(select(App).order_by(App.id.desc())))
