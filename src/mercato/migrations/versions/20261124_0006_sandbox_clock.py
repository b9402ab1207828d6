"""sandbox clock: the offset every process shares

Revision ID: 0006_sandbox_clock
Revises: 0005_open_platform
Create Date: 2026-11-24 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_sandbox_clock"
down_revision: str | None = "0005_open_platform"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # No row is inserted: a missing row means no offset.
    op.create_table(
        "sandbox_clock",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("offset_seconds", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_sandbox_clock"),
    )


def downgrade() -> None:
    op.drop_table("sandbox_clock")
