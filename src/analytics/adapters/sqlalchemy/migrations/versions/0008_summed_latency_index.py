"""Latency rows summed over endpoints and methods, indexed apart from the rest.

`ix_rollup_latency_summed (owner_id, level, bucket_us, latency_bucket, requests)
WHERE method = ''`: the rows an unfiltered dashboard's time series reads (hour and day
levels, revision 0007) are one index range, not every method's rows of those buckets read
and mostly skipped (the primary key orders buckets before methods). It covers the query,
so the table itself is not read.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        "CREATE INDEX ix_rollup_latency_summed ON rollup_latency"
        " (owner_id, level, bucket_us, latency_bucket, requests) WHERE method = ''"
    )


def downgrade() -> None:
    op.execute("DROP INDEX ix_rollup_latency_summed")
