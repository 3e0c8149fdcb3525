"""Rollup rows summed over methods: latency by day and IPs for all time, of all endpoints.

Rebuilds them from the per-method rows of all endpoints (ANY_ENDPOINT, the empty key),
deleting any there are first, so running it on a database whose backfill already wrote
them changes nothing. Revision 0007 adds more such rows (IPs by day, latency by hour).

Frozen: the tables, levels and keys are spelled out here, not imported from the adapter,
so it keeps doing what it did whatever later changes the ingest code.

Revision ID: 0003
Revises: 0002
Create Date: 2024-02-09
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_DAY, _ALL = 2, 3  # levels
_ANY_ENDPOINT = b""
_ANY_METHOD = ""  # never a method
_SUMMED = (("rollup_latency", "latency_bucket", _DAY), ("rollup_ips", "ip", _ALL))


def upgrade() -> None:
    connection = op.get_bind()
    for table, value, level in _SUMMED:
        _delete_method_sums(connection, table)
        keys = f"owner_id, level, endpoint_key, bucket_us, method, {value}"
        connection.execute(
            sa.text(
                f"INSERT INTO {table} ({keys}, requests)"
                f" SELECT owner_id, level, endpoint_key, bucket_us, :any_method, {value},"
                f" sum(requests) FROM {table}"
                " WHERE level = :level AND endpoint_key = :any_endpoint"
                f" GROUP BY owner_id, level, endpoint_key, bucket_us, {value}"
            ),
            {"any_method": _ANY_METHOD, "level": level, "any_endpoint": _ANY_ENDPOINT},
        )


def downgrade() -> None:
    connection = op.get_bind()
    for table, _, _ in _SUMMED:
        _delete_method_sums(connection, table)


def _delete_method_sums(connection: sa.Connection, table: str) -> None:
    connection.execute(
        sa.text(f"DELETE FROM {table} WHERE method = :any_method"), {"any_method": _ANY_METHOD}
    )
