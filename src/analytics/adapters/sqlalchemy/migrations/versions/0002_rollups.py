"""Rollups: traffic, latency and IP counts per owner x level x time bucket; owner time spans.

Backfills them from the raw rows already stored, so a database upgraded with data in it
answers dashboards as before: the rows ingest wrote when this revision was made, per
endpoint and for all endpoints (ANY_ENDPOINT, the empty key), per method, at the hour, day
and all-time levels. Rows summed over methods and `rollup_totals` come with revisions 0003
and 0007.

Frozen: everything it needs is spelled out here (tables, levels, the endpoint digest, the
sums, as `INSERT ... SELECT ... GROUP BY`), nothing is imported from the adapter, so it
keeps doing what it did whatever later changes the ingest code.

Revision ID: 0002
Revises: 0001
Create Date: 2024-02-08
"""

import hashlib
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ENDPOINT_KEY = sa.LargeBinary(16)
_HOUR_US = 3_600_000_000
_DAY_US = 24 * _HOUR_US
_HOUR, _DAY, _ALL = 1, 2, 3  # levels; the all-time level has one bucket, 0
_ANY_ENDPOINT = b""  # never a digest: those are 16 bytes
# Endpoint -> digest, filled in Python (BLAKE2b is not SQL on either database).
_KEYS = "migration_0002_endpoint_keys"
_KEYS_CHUNK = 1_000


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
    connection = op.get_bind()
    _fill_endpoint_keys(connection)
    _backfill_traffic(connection)
    _backfill_counts(connection, "rollup_latency", "latency_bucket", "")
    _backfill_counts(connection, "rollup_ips", "ip", "WHERE r.ip IS NOT NULL")
    connection.execute(
        sa.text(
            "INSERT INTO owner_spans (owner_id, first_us, last_us)"
            " SELECT owner_id, min(created_us), max(created_us) FROM request_logs"
            " GROUP BY owner_id"
        )
    )
    connection.execute(sa.text(f"DROP TABLE {_KEYS}"))


def downgrade() -> None:
    for table in ("owner_spans", "rollup_ips", "rollup_latency", "rollup_traffic"):
        op.drop_table(table)


def _endpoint_key(endpoint: str) -> bytes:
    return hashlib.blake2b(endpoint.encode(), digest_size=16).digest()


def _fill_endpoint_keys(connection: sa.Connection) -> None:
    binary = "BYTEA" if connection.dialect.name == "postgresql" else "BLOB"
    connection.execute(
        sa.text(f"CREATE TEMPORARY TABLE {_KEYS} (endpoint TEXT PRIMARY KEY, digest {binary})")
    )
    endpoints = connection.execute(sa.text("SELECT DISTINCT endpoint FROM request_logs"))
    insert = sa.text(f"INSERT INTO {_KEYS} (endpoint, digest) VALUES (:endpoint, :digest)")
    names = endpoints.scalars().all()
    for start in range(0, len(names), _KEYS_CHUNK):
        chunk = names[start : start + _KEYS_CHUNK]
        connection.execute(insert, [{"endpoint": e, "digest": _endpoint_key(e)} for e in chunk])


def _floor(column: str, width_us: int) -> str:
    """The start of the bucket of `width_us` holding `column`; floor modulo, since SQL's
    `%` truncates towards zero and times before 1970 are negative."""
    return f"{column} - (({column} % {width_us}) + {width_us}) % {width_us}"


def _backfill_traffic(connection: sa.Connection) -> None:
    """Hours from the raw rows, days from the hours, all time from the days."""
    keys = "owner_id, level, bucket_us, endpoint_key, method, status_code, endpoint"
    hourly = (
        f"SELECT r.owner_id, {_HOUR} AS level, {_floor('r.created_us', _HOUR_US)} AS bucket_us,"
        " k.digest AS endpoint_key, r.method, r.status_code, r.endpoint,"
        " 1 AS requests, r.process_time_us AS sum_us, r.process_time_us AS min_us,"
        " r.process_time_us AS max_us"
        f" FROM request_logs AS r JOIN {_KEYS} AS k ON k.endpoint = r.endpoint"
    )
    sources = [hourly]
    for level, bucket in ((_DAY, _floor("bucket_us", _DAY_US)), (_ALL, "0")):
        sources.append(
            f"SELECT owner_id, {level} AS level, {bucket} AS bucket_us, endpoint_key, method,"
            " status_code, endpoint, requests, sum_us, min_us, max_us"
            f" FROM rollup_traffic WHERE level = {level - 1}"
        )
    for source in sources:
        _insert_grouped(
            connection,
            "rollup_traffic",
            keys,
            {"requests": "sum", "sum_us": "sum", "min_us": "min", "max_us": "max"},
            source,
        )


def _backfill_counts(connection: sa.Connection, table: str, value: str, where: str) -> None:
    """Per endpoint at the hour level from the raw rows (those `where` selects), then the
    ANY_ENDPOINT hours from them, then days from hours and all time from days."""
    keys = f"owner_id, level, endpoint_key, bucket_us, method, {value}"
    hourly = (
        f"SELECT r.owner_id, {_HOUR} AS level, k.digest AS endpoint_key,"
        f" {_floor('r.created_us', _HOUR_US)} AS bucket_us, r.method, r.{value}, 1 AS requests"
        f" FROM request_logs AS r JOIN {_KEYS} AS k ON k.endpoint = r.endpoint {where}"
    )
    any_endpoint = (
        f"SELECT owner_id, level, :any_endpoint AS endpoint_key, bucket_us, method, {value},"
        f" requests FROM {table} WHERE level = {_HOUR}"
    )
    sources = [hourly, any_endpoint]
    for level, bucket in ((_DAY, _floor("bucket_us", _DAY_US)), (_ALL, "0")):
        sources.append(
            f"SELECT owner_id, {level} AS level, endpoint_key, {bucket} AS bucket_us, method,"
            f" {value}, requests FROM {table} WHERE level = {level - 1}"
        )
    for source in sources:
        _insert_grouped(connection, table, keys, {"requests": "sum"}, source)


def _insert_grouped(
    connection: sa.Connection, table: str, keys: str, values: dict[str, str], source: str
) -> None:
    """Insert into `table` the rows of `source` grouped by `keys`, each of `values`
    (column: aggregate function) aggregated over its group. `source` may name the
    parameter :any_endpoint."""
    names = ", ".join(values)
    aggregates = ", ".join(f"{function}({name})" for name, function in values.items())
    connection.execute(
        sa.text(
            f"INSERT INTO {table} ({keys}, {names}) SELECT {keys}, {aggregates}"
            f" FROM ({source}) AS source GROUP BY {keys}"
        ),
        {"any_endpoint": _ANY_ENDPOINT},
    )
