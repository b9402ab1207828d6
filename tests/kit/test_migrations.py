"""The models and the migrations describe the same schema, on every backend."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import Connection

from mercato.kit.db import Database
from mercato.kit.migrate import include_object
from mercato.models import Base


async def test_models_match_migrations(db: Database) -> None:
    def diff(connection: Connection) -> list[object]:
        context = MigrationContext.configure(
            connection, opts={"include_object": include_object, "compare_type": True}
        )
        return list(compare_metadata(context, Base.metadata))

    async with db.write_engine.connect() as connection:
        assert await connection.run_sync(diff) == []
