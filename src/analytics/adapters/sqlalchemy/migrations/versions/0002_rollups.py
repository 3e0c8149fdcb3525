"""Rollups: traffic, latency and IP counts per owner x level x time bucket; owner time spans.

Backfills them from the raw rows already stored, with the adapter's own aggregation code
(`rollups_of`), so a database upgraded with data in it answers dashboards as before.

Revision ID: 0002
Revises: 0001
Create Date: 2024-02-08
"""

from collections.abc import Sequence
from dataclasses import replace
from itertools import groupby

import sqlalchemy as sa
from alembic import op

from analytics.adapters.sqlalchemy.rollup_writer import RollupWriter
from analytics.adapters.sqlalchemy.rollups import AGGREGATED_COLUMNS, rollups_of
from analytics.adapters.sqlalchemy.tables import request_logs

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BACKFILL_CHUNK = 20_000
_ENDPOINT_KEY = sa.LargeBinary(16)


def upgrade() -> None:
    op.create_table(
        "rollup_traffic",
        sa.Column("owner_id", sa.String(64), nullable=False),
        sa.Column("level", sa.SmallInteger, nullable=False),
        sa.Column("bucket_us", sa.BigInteger, nullable=False),
        sa.Column("endpoint_key", _ENDPOINT_KEY, nullable=False),
        sa.Column("method", sa.String(16), nullable=False),
        sa.Column("status_code", sa.SmallInteger, nullable=False),
        sa.Column("endpoint", sa.Text, nullable=False),
        sa.Column("requests", sa.BigInteger, nullable=False),
        sa.Column("sum_us", sa.BigInteger, nullable=False),
        sa.Column("min_us", sa.BigInteger, nullable=False),
        sa.Column("max_us", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint(
            "owner_id", "level", "bucket_us", "endpoint_key", "method", "status_code"
        ),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "rollup_latency",
        sa.Column("owner_id", sa.String(64), nullable=False),
        sa.Column("level", sa.SmallInteger, nullable=False),
        sa.Column("endpoint_key", _ENDPOINT_KEY, nullable=False),
        sa.Column("bucket_us", sa.BigInteger, nullable=False),
        sa.Column("method", sa.String(16), nullable=False),
        sa.Column("latency_bucket", sa.SmallInteger, nullable=False),
        sa.Column("requests", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint(
            "owner_id", "level", "endpoint_key", "bucket_us", "method", "latency_bucket"
        ),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "rollup_ips",
        sa.Column("owner_id", sa.String(64), nullable=False),
        sa.Column("level", sa.SmallInteger, nullable=False),
        sa.Column("endpoint_key", _ENDPOINT_KEY, nullable=False),
        sa.Column("bucket_us", sa.BigInteger, nullable=False),
        sa.Column("method", sa.String(16), nullable=False),
        sa.Column("ip", sa.String(64), nullable=False),
        sa.Column("requests", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("owner_id", "level", "endpoint_key", "bucket_us", "method", "ip"),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "owner_spans",
        sa.Column("owner_id", sa.String(64), primary_key=True),
        sa.Column("first_us", sa.BigInteger, nullable=False),
        sa.Column("last_us", sa.BigInteger, nullable=False),
    )
    _backfill(op.get_bind())


def downgrade() -> None:
    for table in ("owner_spans", "rollup_ips", "rollup_latency", "rollup_traffic"):
        op.drop_table(table)


def _backfill(connection: sa.Connection) -> None:
    writer = RollupWriter(connection)
    columns = [request_logs.c[name] for name in AGGREGATED_COLUMNS]
    after_id = 0
    while True:
        chunk = connection.execute(
            sa.select(request_logs.c.id, *columns)
            .where(request_logs.c.id > after_id)
            .order_by(request_logs.c.id)
            .limit(_BACKFILL_CHUNK)
        ).all()
        if not chunk:
            return
        after_id = chunk[-1][0]
        rows = sorted((tuple(row[1:]) for row in chunk), key=lambda row: row[0])
        for owner_id, owned in groupby(rows, key=lambda row: row[0]):
            # rollup_totals does not exist yet: revision 0007 creates it from rollup_traffic.
            writer.write(connection, replace(rollups_of(owner_id, owned), totals=[]))
