"""open platform: apps, permission packages, authorizations, OAuth codes, tokens, call log

Revision ID: 0005_open_platform
Revises: 0004_payment_trades
Create Date: 2026-11-24 10:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from mercato.models.base import UTCDateTime

revision: str = "0005_open_platform"
down_revision: str | None = "0004_payment_trades"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "apps",
        sa.Column("id", _ID, primary_key=True),
        sa.Column("app_key", sa.String(16), nullable=False),
        sa.Column("secret_encrypted", sa.String(300), nullable=False),
        sa.Column("owner_id", _ID, nullable=False),
        sa.Column("name", sa.String(60), nullable=False),
        sa.Column("app_type", sa.String(20), nullable=False),
        sa.Column("callback_url", sa.String(500), nullable=False),
        sa.Column("ip_whitelist", sa.String(1000), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("tier", sa.String(32), nullable=False),
        sa.Column("secret_rotated_at", UTCDateTime(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("modified_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["users.id"], name="fk_apps_owner_id_users", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_apps"),
        sa.UniqueConstraint("app_key", name="uq_apps_app_key"),
    )
    op.create_index("ix_apps_owner_id", "apps", ["owner_id"])
    op.create_table(
        "app_packages",
        sa.Column("app_id", _ID, nullable=False),
        sa.Column("package", sa.String(32), nullable=False),
        sa.ForeignKeyConstraint(
            ["app_id"], ["apps.id"], name="fk_app_packages_app_id_apps", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("app_id", "package", name="pk_app_packages"),
    )
    op.create_table(
        "authorizations",
        sa.Column("id", _ID, nullable=False),
        sa.Column("app_id", _ID, nullable=False),
        sa.Column("user_id", _ID, nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("revoked_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["app_id"], ["apps.id"], name="fk_authorizations_app_id_apps", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name="fk_authorizations_user_id_users", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_authorizations"),
        sa.UniqueConstraint("app_id", "user_id", name="uq_authorizations_app_id_user_id"),
    )
    op.create_index("ix_authorizations_user_id", "authorizations", ["user_id"])
    op.create_table(
        "oauth_codes",
        sa.Column("code_hash", sa.String(64), nullable=False),
        sa.Column("app_id", _ID, nullable=False),
        sa.Column("user_id", _ID, nullable=False),
        sa.Column("redirect_uri", sa.String(500), nullable=False),
        sa.Column("view", sa.String(8), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.Column("used_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["app_id"], ["apps.id"], name="fk_oauth_codes_app_id_apps", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name="fk_oauth_codes_user_id_users", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("code_hash", name="pk_oauth_codes"),
    )
    op.create_table(
        "access_tokens",
        sa.Column("id", _ID, nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("refresh_hash", sa.String(64), nullable=True),
        sa.Column("authorization_id", _ID, nullable=False),
        sa.Column("app_id", _ID, nullable=False),
        sa.Column("user_id", _ID, nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.Column("refresh_expires_at", UTCDateTime(), nullable=True),
        sa.Column("revoked_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["authorization_id"],
            ["authorizations.id"],
            name="fk_access_tokens_authorization_id_authorizations",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["app_id"], ["apps.id"], name="fk_access_tokens_app_id_apps", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name="fk_access_tokens_user_id_users", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_access_tokens"),
        sa.UniqueConstraint("token_hash", name="uq_access_tokens_token_hash"),
        sa.UniqueConstraint("refresh_hash", name="uq_access_tokens_refresh_hash"),
    )
    op.create_index("ix_access_tokens_authorization_id", "access_tokens", ["authorization_id"])
    op.create_index("ix_access_tokens_app_user", "access_tokens", ["app_id", "user_id"])
    op.create_table(
        "api_calls",
        sa.Column("id", _ID, nullable=False),
        sa.Column("request_id", sa.String(32), nullable=False),
        sa.Column("app_id", _ID, nullable=True),
        sa.Column("method", sa.String(100), nullable=False),
        sa.Column("user_id", _ID, nullable=True),
        sa.Column("code", sa.Integer(), nullable=False),
        sa.Column("sub_code", sa.String(100), nullable=False),
        sa.Column("latency_us", sa.Integer(), nullable=False),
        sa.Column("called_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_api_calls"),
    )
    op.create_index("ix_api_calls_request_id", "api_calls", ["request_id"])
    op.create_index("ix_api_calls_app_called", "api_calls", ["app_id", "called_at"])
    op.create_index(
        "ix_api_calls_app_method_called", "api_calls", ["app_id", "method", "called_at"]
    )


def downgrade() -> None:
    for table in (
        "api_calls",
        "access_tokens",
        "oauth_codes",
        "authorizations",
        "app_packages",
        "apps",
    ):
        op.drop_table(table)
