"""Engines, sessions and the unit of work.

One request or job is one transaction: services only flush, and the edge that opened the
unit of work commits it (or rolls everything back on an exception).

SQLite: every connection runs in WAL mode with a busy timeout. Writes go through a
one-connection engine whose transactions start with ``BEGIN IMMEDIATE``, so writers queue in
the pool instead of failing with "database is locked"; reads use a separate read-only pool
and never block on a writer. PostgreSQL: one pooled engine serves both.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from mercato.kit.cache import CACHES_INFO_KEY

SQLITE_BUSY_TIMEOUT_MS = 30_000
SQLITE_MMAP_BYTES = 1 << 30
SQLITE_CACHE_KIB = 32 * 1024


def _tune_sqlite(engine: AsyncEngine, *, begin: str, read_only: bool) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take BEGIN out of the driver's hands so that we choose DEFERRED or IMMEDIATE.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        # Read through a memory map and keep more pages cached: fewer system calls per page.
        cursor.execute(f"PRAGMA mmap_size={SQLITE_MMAP_BYTES}")
        cursor.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
        if read_only:
            cursor.execute("PRAGMA query_only=ON")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql(begin)


class Database:
    """The application's database: a write path and a read path over one URL."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = make_url(url)
        self.is_sqlite = self.url.get_backend_name() == "sqlite"
        if self.is_sqlite:
            self.write_engine = create_async_engine(
                url, echo=echo, pool_size=1, max_overflow=0, pool_timeout=300
            )
            self.read_engine = create_async_engine(url, echo=echo, pool_size=8, max_overflow=8)
            _tune_sqlite(self.write_engine, begin="BEGIN IMMEDIATE", read_only=False)
            _tune_sqlite(self.read_engine, begin="BEGIN", read_only=True)
        else:
            engine = create_async_engine(
                url, echo=echo, pool_size=10, max_overflow=20, pool_pre_ping=True
            )
            self.write_engine = self.read_engine = engine
        # In-process caches of hot rows, shared by this database's sessions (kit/cache.py).
        self.caches: dict[str, Any] = {}
        info = {CACHES_INFO_KEY: self.caches}
        self._writer = async_sessionmaker(self.write_engine, expire_on_commit=False, info=info)
        self._reader = async_sessionmaker(self.read_engine, expire_on_commit=False, info=info)

    @property
    def dialect(self) -> str:
        return self.url.get_backend_name()

    @asynccontextmanager
    async def session(self, *, write: bool = False) -> AsyncIterator[AsyncSession]:
        """A unit of work. A write unit commits when the block ends without an exception."""
        maker = self._writer if write else self._reader
        async with maker() as session:
            try:
                yield session
                if write:
                    await session.commit()
                else:
                    # Detach what was read first: a rollback expires every loaded object,
                    # and callers (pages, the signed-in user) use them after the unit ends.
                    session.expunge_all()
                    await session.rollback()
            except BaseException:
                await session.rollback()
                raise

    def write(self) -> Any:
        return self.session(write=True)

    def read(self) -> Any:
        return self.session(write=False)

    async def dispose(self) -> None:
        await self.write_engine.dispose()
        if self.read_engine is not self.write_engine:
            await self.read_engine.dispose()
