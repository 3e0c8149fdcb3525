"""Rollup rows summed over methods: latency by day and IPs for all time, of all endpoints.

Rebuilds them from the per-method rows (deleting any there are first, so running it on
a database whose backfill already wrote them changes nothing).

Revision ID: 0003
Revises: 0002
Create Date: 2024-02-09
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from analytics.adapters.sqlalchemy.rollups import (
    ANY_ENDPOINT,
    ANY_METHOD,
    IP_ANY_METHOD_LEVELS,
    LATENCY_ANY_METHOD_LEVELS,
    Level,
)
from analytics.adapters.sqlalchemy.tables import rollup_ips, rollup_latency

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    connection = op.get_bind()
    for table, value, levels in (
        (rollup_latency, "latency_bucket", LATENCY_ANY_METHOD_LEVELS),
        (rollup_ips, "ip", IP_ANY_METHOD_LEVELS),
    ):
        connection.execute(sa.delete(table).where(table.c.method == ANY_METHOD))
        for level in levels:
            _sum_methods(connection, table, value, level)


def downgrade() -> None:
    connection = op.get_bind()
    for table in (rollup_latency, rollup_ips):
        connection.execute(sa.delete(table).where(table.c.method == ANY_METHOD))


def _sum_methods(connection: sa.Connection, table: sa.Table, value: str, level: Level) -> None:
    keys = [table.c.owner_id, table.c.level, table.c.endpoint_key, table.c.bucket_us]
    summed = (
        sa.select(
            *keys,
            sa.literal(ANY_METHOD, sa.String(16)),
            table.c[value],
            sa.func.sum(table.c.requests),
        )
        .where(table.c.level == int(level), table.c.endpoint_key == ANY_ENDPOINT)
        .group_by(*keys, table.c[value])
    )
    columns = ["owner_id", "level", "endpoint_key", "bucket_us", "method", value, "requests"]
    connection.execute(sa.insert(table).from_select(columns, summed))
