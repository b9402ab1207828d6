"""Database fixtures shared by every domain's tests.

``db`` is a migrated ``Database`` on each backend: SQLite always, PostgreSQL when
``MERCATO_TEST_DATABASE_URL`` is set (CI sets it; a set but unreachable server fails the run
rather than skipping, so a broken CI database cannot pass silently).
"""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from mercato.kit.db import Database
from mercato.kit.migrate import upgrade
from mercato.models import Base
from tests.live import LiveDemo, demo_server

PG_ENV = "MERCATO_TEST_DATABASE_URL"
REDIS_ENV = "MERCATO_TEST_REDIS_URL"
# PostgreSQL joins the backends only when configured, so a run without it reports no skips.
BACKENDS = ["sqlite", "postgres"] if os.environ.get(PG_ENV) else ["sqlite"]


def _sqlite_url(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path}"


async def _reset_postgres(url: str) -> None:
    engine = create_async_engine(url, poolclass=NullPool)
    try:
        async with engine.begin() as conn:
            await conn.execute(text("DROP SCHEMA public CASCADE"))
            await conn.execute(text("CREATE SCHEMA public"))
    finally:
        await engine.dispose()
    await upgrade(url)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One migrated SQLite file; each test gets a copy, which is much faster than migrating."""
    path = tmp_path_factory.mktemp("db") / "template.db"
    asyncio.run(upgrade(_sqlite_url(path)))
    return path


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """The PostgreSQL test URL, schema rebuilt once per session."""
    url = os.environ[PG_ENV]
    asyncio.run(_reset_postgres(url))  # raises (fails) when the server is unreachable
    yield url


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, sqlite_template: Path, tmp_path: Path) -> str:
    if request.param == "postgres":
        return str(request.getfixturevalue("postgres_url"))
    path = tmp_path / "test.db"
    shutil.copyfile(sqlite_template, path)
    return _sqlite_url(path)


async def truncate_all(database: Database) -> None:
    tables = ", ".join(t.name for t in Base.metadata.sorted_tables)
    async with database.write() as session:
        await session.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    """A migrated, empty database."""
    database = Database(database_url)
    if not database.is_sqlite:
        await truncate_all(database)
    try:
        yield database
    finally:
        await database.dispose()


@pytest.fixture(scope="session")
def live_demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveDemo]:
    """One real ``mercato demo`` server for the whole run (browser and TOP-client tests)."""
    with demo_server(tmp_path_factory.mktemp("demo")) as demo:
        yield demo


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Redis tests join the run only when Redis is configured (CI sets it), as PostgreSQL
    joins the backends: deselected, not skipped, so a run without it reports no skips."""
    if os.environ.get(REDIS_ENV):
        return
    chosen = [item for item in items if item.get_closest_marker("redis") is None]
    if len(chosen) != len(items):
        config.hook.pytest_deselected(items=[i for i in items if i not in chosen])
        items[:] = chosen
