"""A coarse latency histogram beside the fine one, for the time series of all endpoints.

`rollup_latency_coarse`: the latency rows summed over endpoints and methods (endpoint_key
empty, method '') at the hour and day levels, with 16 latency buckets to one
(`coarse_bucket = latency_bucket >> 4`). A time series finds the coarse bucket holding each
bucket's p95 in these ~16 x fewer rows and then reads only that coarse bucket's fine rows
(docs/storage.md, "How a dashboard is computed"). Backfilled from `rollup_latency`, so it
also covers the history retention already deleted.

Spelled out here, not imported: a migration must keep meaning what it meant when written.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_HOUR, _DAY = 1, 2
_ANY_METHOD = ""  # only the rows of all endpoints have it
_COARSE_SHIFT = 4
_KEYS = ("owner_id", "level", "bucket_us", "coarse_bucket")

_latency = sa.table(
    "rollup_latency",
    *(sa.column(name) for name in ("owner_id", "level", "bucket_us", "method", "latency_bucket")),
    sa.column("requests"),
)


def upgrade() -> None:
    op.create_table(
        "rollup_latency_coarse",
        sa.Column("owner_id", sa.String(64), nullable=False),
        sa.Column("level", sa.SmallInteger, nullable=False),
        sa.Column("bucket_us", sa.BigInteger, nullable=False),
        sa.Column("coarse_bucket", sa.SmallInteger, nullable=False),
        sa.Column("requests", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint(*_KEYS),
        sqlite_with_rowid=False,
    )
    c = _latency.c
    coarse = c.latency_bucket.op(">>")(sa.literal_column(str(_COARSE_SHIFT)))
    keys = (c.owner_id, c.level, c.bucket_us, coarse)
    summed = (
        sa.select(*keys, sa.func.sum(c.requests))
        .where(c.level.in_([_HOUR, _DAY]), c.method == _ANY_METHOD)
        .group_by(*keys)
    )
    target = sa.table("rollup_latency_coarse", *(sa.column(n) for n in (*_KEYS, "requests")))
    op.get_bind().execute(sa.insert(target).from_select([*_KEYS, "requests"], summed))


def downgrade() -> None:
    op.drop_table("rollup_latency_coarse")
