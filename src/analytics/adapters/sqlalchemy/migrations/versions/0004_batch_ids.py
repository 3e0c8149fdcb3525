"""Batch ids: which batches each owner sent in the last day, so retries store nothing.

Revision ID: 0004
Revises: 0003
Create Date: 2024-02-10
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "batch_ids",
        sa.Column("owner_id", sa.String(64), nullable=False),
        sa.Column("batch_id", sa.String(36), nullable=False),
        sa.Column("accepted", sa.Integer, nullable=False),
        sa.Column("received_us", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("owner_id", "batch_id"),
    )
    op.create_index("ix_batch_ids_received", "batch_ids", ["received_us"])


def downgrade() -> None:
    op.drop_index("ix_batch_ids_received", table_name="batch_ids")
    op.drop_table("batch_ids")
