"""Totals summed over endpoints, more rows summed over methods, IPs indexed by count.

So that a dashboard reads few rows however much traffic is stored (docs/storage.md):

- `rollup_totals`: `rollup_traffic` summed over endpoints, per (method, status) and per
  status alone (method ''), at every level. Backfilled from `rollup_traffic`, not from the
  raw rows: it then also covers the history retention already deleted.
- Rows summed over methods (method '') of all endpoints (endpoint_key empty): IPs per day
  and latency per hour, rebuilt from the per-method rows of all endpoints.
- `ix_rollup_ips_ranked`: the IP rows summed over methods ordered by count, so one
  bucket's top IPs are the index's first rows. IPs tie in code point order: on PostgreSQL
  `COLLATE "C"`; SQLite's default BINARY collation is code point order already.

The tables are spelled out here, not imported: a migration must keep meaning what it
meant when it was written.

Revision ID: 0007
Revises: 0004
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_HOUR, _DAY = 1, 2
_ANY_ENDPOINT = b""
_ANY_METHOD = ""
_KEYS = ("owner_id", "level", "bucket_us", "method", "status_code")

_traffic = sa.table(
    "rollup_traffic",
    *(sa.column(name) for name in _KEYS),
    sa.column("requests"),
    sa.column("sum_us"),
    sa.column("min_us"),
    sa.column("max_us"),
)


def _counts(name: str, value: str) -> sa.TableClause:
    keys = ("owner_id", "level", "endpoint_key", "bucket_us", "method", value, "requests")
    return sa.table(name, *(sa.column(key) for key in keys))


_latency = _counts("rollup_latency", "latency_bucket")
_ips = _counts("rollup_ips", "ip")


def upgrade() -> None:
    op.create_table(
        "rollup_totals",
        sa.Column("owner_id", sa.String(64), nullable=False),
        sa.Column("level", sa.SmallInteger, nullable=False),
        sa.Column("bucket_us", sa.BigInteger, nullable=False),
        sa.Column("method", sa.String(16), nullable=False),
        sa.Column("status_code", sa.SmallInteger, nullable=False),
        sa.Column("requests", sa.BigInteger, nullable=False),
        sa.Column("sum_us", sa.BigInteger, nullable=False),
        sa.Column("min_us", sa.BigInteger, nullable=False),
        sa.Column("max_us", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint(*_KEYS),
        sqlite_with_rowid=False,
    )
    connection = op.get_bind()
    _backfill_totals(connection)
    _rebuild_method_sums(connection, _ips, "ip", _DAY)
    _rebuild_method_sums(connection, _latency, "latency_bucket", _HOUR)
    ip_order = 'ip COLLATE "C"' if connection.dialect.name == "postgresql" else "ip"
    op.execute(
        "CREATE INDEX ix_rollup_ips_ranked ON rollup_ips"
        f" (owner_id, level, bucket_us, requests DESC, {ip_order}) WHERE method = ''"
    )


def downgrade() -> None:
    op.execute("DROP INDEX ix_rollup_ips_ranked")
    connection = op.get_bind()
    for table, level in ((_ips, _DAY), (_latency, _HOUR)):
        connection.execute(sa.delete(table).where(*_method_sums(table, level)))
    op.drop_table("rollup_totals")


def _backfill_totals(connection: sa.Connection) -> None:
    """Per (method, status), then per status alone (method '')."""
    c = _traffic.c
    sums = (sa.func.sum(c.requests), sa.func.sum(c.sum_us), sa.func.min(c.min_us))
    sums += (sa.func.max(c.max_us),)
    by_method = sa.select(*(c[key] for key in _KEYS), *sums).group_by(*(c[key] for key in _KEYS))
    by_status = sa.select(
        c.owner_id,
        c.level,
        c.bucket_us,
        sa.literal(_ANY_METHOD, sa.String(16)),
        c.status_code,
        *sums,
    ).group_by(c.owner_id, c.level, c.bucket_us, c.status_code)
    columns = [*_KEYS, "requests", "sum_us", "min_us", "max_us"]
    totals = sa.table("rollup_totals", *(sa.column(name) for name in columns))
    for select in (by_method, by_status):
        connection.execute(sa.insert(totals).from_select(columns, select))


def _rebuild_method_sums(
    connection: sa.Connection, table: sa.TableClause, value: str, level: int
) -> None:
    """The ANY_ENDPOINT rows of `level` summed over methods, from the per-method ones."""
    c = table.c
    connection.execute(sa.delete(table).where(*_method_sums(table, level)))
    keys = [c.owner_id, c.level, c.endpoint_key, c.bucket_us]
    summed = (
        sa.select(*keys, sa.literal(_ANY_METHOD, sa.String(16)), c[value], sa.func.sum(c.requests))
        .where(c.level == level, c.endpoint_key == _ANY_ENDPOINT, c.method != _ANY_METHOD)
        .group_by(*keys, c[value])
    )
    columns = ["owner_id", "level", "endpoint_key", "bucket_us", "method", value, "requests"]
    connection.execute(sa.insert(table).from_select(columns, summed))


def _method_sums(table: sa.TableClause, level: int) -> list[sa.ColumnElement[bool]]:
    c = table.c
    return [c.level == level, c.endpoint_key == _ANY_ENDPOINT, c.method == _ANY_METHOD]
