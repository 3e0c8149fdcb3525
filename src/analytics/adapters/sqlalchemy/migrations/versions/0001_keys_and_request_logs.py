"""API keys and raw request logs.

Revision ID: 0001
Revises:
Create Date: 2024-02-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "api_keys",
        sa.Column("key_id", sa.String(64), primary_key=True),
        sa.Column("key_hash", sa.String(128), nullable=False),
        sa.Column("scope", sa.String(16), nullable=False),
        sa.Column("created_us", sa.BigInteger, nullable=False),
        sa.Column("owner_id", sa.String(64), nullable=False),
        sa.Column("revoked", sa.Boolean, nullable=False),
    )
    op.create_table(
        "request_logs",
        sa.Column("id", _BIG_ID, primary_key=True, autoincrement=True),
        sa.Column("owner_id", sa.String(64), nullable=False),
        sa.Column("created_us", sa.BigInteger, nullable=False),
        sa.Column("method", sa.String(16), nullable=False),
        sa.Column("endpoint", sa.Text, nullable=False),
        sa.Column("ip", sa.String(64), nullable=True),
        sa.Column("status_code", sa.SmallInteger, nullable=False),
        sa.Column("process_time_us", sa.BigInteger, nullable=False),
        sa.Column("latency_bucket", sa.SmallInteger, nullable=False),
        sa.Column("path", sa.Text, nullable=True),
        sa.Column("user_agent", sa.Text, nullable=True),
        sa.Column("consumer", sa.Text, nullable=True),
        sqlite_autoincrement=True,
    )
    op.create_index(
        "ix_request_logs_owner_created",
        "request_logs",
        ["owner_id", "created_us", "id"],
    )


def downgrade() -> None:
    op.drop_index("ix_request_logs_owner_created", table_name="request_logs")
    op.drop_table("request_logs")
    op.drop_table("api_keys")
