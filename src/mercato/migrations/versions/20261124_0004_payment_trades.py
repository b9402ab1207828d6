"""payment trades and per-category commission

Revision ID: 0004_payment_trades
Revises: 0003_after_sales
Create Date: 2026-11-24 10:10:00

``payment_trades`` records what each payment pays for each trade, so one asynchronous
(sandbox) payment can cover several trades and its callback knows every trade's escrow
share. ``categories.commission_rate`` is the platform commission in basis points; NULL
inherits the parent's.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_payment_trades"
down_revision: str | None = "0003_after_sales"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "payment_trades",
        sa.Column("payment_id", _ID, nullable=False),
        sa.Column("trade_id", _ID, nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["payment_id"], ["payments.id"], name=op.f("fk_payment_trades_payment_id_payments")
        ),
        sa.ForeignKeyConstraint(
            ["trade_id"], ["trades.id"], name=op.f("fk_payment_trades_trade_id_trades")
        ),
        sa.PrimaryKeyConstraint("payment_id", "trade_id", name=op.f("pk_payment_trades")),
    )
    with op.batch_alter_table("payment_trades", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_payment_trades_trade_id"), ["trade_id"], unique=False)
    with op.batch_alter_table("categories", schema=None) as batch_op:
        batch_op.add_column(sa.Column("commission_rate", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("categories", schema=None) as batch_op:
        batch_op.drop_column("commission_rate")
    with op.batch_alter_table("payment_trades", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_payment_trades_trade_id"))
    op.drop_table("payment_trades")
