"""A coarse latency histogram beside the fine one, for the rows read by percentile.

`rollup_latency_coarse` is `rollup_latency` with 16 latency buckets to one
(`coarse_bucket = latency_bucket >> 4`), for the rows dashboards read a p95 from: those of all
endpoints and methods (endpoint_key empty, method '') at the hour and day levels, which time
series read, and each endpoint's per method at the day and all-time levels, which the top
endpoints read. A dashboard finds the coarse bucket holding each p95 in these ~16 x fewer rows
and then reads only that coarse bucket's fine rows (docs/storage.md, "How a dashboard is
computed"). Backfilled from `rollup_latency`, so it also covers the history retention already
deleted.

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

_HOUR, _DAY, _ALL = 1, 2, 3
_ANY_ENDPOINT = b""
_ANY_METHOD = ""
_COARSE_SHIFT = 4
_KEYS = ("owner_id", "level", "endpoint_key", "bucket_us", "method")

_latency = sa.table(
    "rollup_latency", *(sa.column(name) for name in (*_KEYS, "latency_bucket", "requests"))
)


def upgrade() -> None:
    op.create_table(
        "rollup_latency_coarse",
        sa.Column("owner_id", sa.String(64), nullable=False),
        sa.Column("level", sa.SmallInteger, nullable=False),
        sa.Column("endpoint_key", sa.LargeBinary(16), nullable=False),
        sa.Column("bucket_us", sa.BigInteger, nullable=False),
        sa.Column("method", sa.String(16), nullable=False),
        sa.Column("coarse_bucket", sa.SmallInteger, nullable=False),
        sa.Column("requests", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint(*_KEYS, "coarse_bucket"),
        sqlite_with_rowid=False,
    )
    c = _latency.c
    coarse = c.latency_bucket.op(">>")(sa.literal_column(str(_COARSE_SHIFT)))
    keys = (*(c[name] for name in _KEYS), coarse)
    series = sa.and_(c.level.in_([_HOUR, _DAY]), c.method == _ANY_METHOD)
    endpoints = sa.and_(c.level.in_([_DAY, _ALL]), c.endpoint_key != _ANY_ENDPOINT)
    summed = sa.select(*keys, sa.func.sum(c.requests)).where(series | endpoints).group_by(*keys)
    columns = [*_KEYS, "coarse_bucket", "requests"]
    target = sa.table("rollup_latency_coarse", *(sa.column(name) for name in columns))
    op.get_bind().execute(sa.insert(target).from_select(columns, summed))


def downgrade() -> None:
    op.drop_table("rollup_latency_coarse")
