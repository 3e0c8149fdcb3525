"""The tables, as SQLAlchemy Core objects. Migrations create them; see docs/storage.md.

Times are integers: microseconds since the Unix epoch, UTC. Integer arithmetic buckets them
the same way on SQLite and PostgreSQL, and they keep the full precision of `datetime`.
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

# SQLite only gives an autoincrementing rowid to a column typed exactly INTEGER.
_BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

api_keys = sa.Table(
    "api_keys",
    metadata,
    sa.Column("key_id", sa.String(64), primary_key=True),
    sa.Column("key_hash", sa.String(128), nullable=False),
    sa.Column("scope", sa.String(16), nullable=False),
    sa.Column("created_us", sa.BigInteger, nullable=False),
    sa.Column("owner_id", sa.String(64), nullable=False),
    sa.Column("revoked", sa.Boolean, nullable=False),
)

request_logs = sa.Table(
    "request_logs",
    metadata,
    sa.Column("id", _BIG_ID, primary_key=True, autoincrement=True),
    sa.Column("owner_id", sa.String(64), nullable=False),
    sa.Column("created_us", sa.BigInteger, nullable=False),
    sa.Column("method", sa.String(16), nullable=False),
    sa.Column("endpoint", sa.Text, nullable=False),
    sa.Column("ip", sa.String(64), nullable=True),
    sa.Column("status_code", sa.SmallInteger, nullable=False),
    sa.Column("process_time_us", sa.BigInteger, nullable=False),
    # domain.latency.latency_bucket(process_time_us), computed at ingest so SQL can group by it.
    sa.Column("latency_bucket", sa.SmallInteger, nullable=False),
    sa.Column("path", sa.Text, nullable=True),
    sa.Column("user_agent", sa.Text, nullable=True),
    sa.Column("consumer", sa.Text, nullable=True),
    # Ids are shown to clients and used as paging cursors: never hand one out twice.
    sqlite_autoincrement=True,
)
# Every read is one owner's rows in a time range, newest first: listing pages (keyset on
# created_us, id), dashboard edges and retention all walk this one index.
sa.Index(
    "ix_request_logs_owner_created",
    request_logs.c.owner_id,
    request_logs.c.created_us,
    request_logs.c.id,
)

# ---- rollups (docs/storage.md, "Rollups") ----------------------------------------------------
# Logs pre-aggregated at ingest, in the same transaction, per owner x level x time bucket. Levels
# are hour, day and all time (bucket 0). Endpoints are keyed by a 16-byte BLAKE2b digest
# (`endpoint_key`): fixed-size keys stay small and within PostgreSQL's B-tree entry limit for
# any endpoint text. In `rollup_latency` and `rollup_ips` the empty key (ANY_ENDPOINT) holds the
# sum over all endpoints, which unfiltered dashboards read instead of every endpoint's rows.
_ENDPOINT_KEY = sa.LargeBinary(16)

rollup_traffic = sa.Table(
    "rollup_traffic",
    metadata,
    sa.Column("owner_id", sa.String(64), primary_key=True),
    sa.Column("level", sa.SmallInteger, primary_key=True),
    sa.Column("bucket_us", sa.BigInteger, primary_key=True),
    sa.Column("endpoint_key", _ENDPOINT_KEY, primary_key=True),
    sa.Column("method", sa.String(16), primary_key=True),
    sa.Column("status_code", sa.SmallInteger, primary_key=True),
    sa.Column("endpoint", sa.Text, nullable=False),
    sa.Column("requests", sa.BigInteger, nullable=False),
    sa.Column("sum_us", sa.BigInteger, nullable=False),
    sa.Column("min_us", sa.BigInteger, nullable=False),
    sa.Column("max_us", sa.BigInteger, nullable=False),
    sqlite_with_rowid=False,
)

# rollup_traffic summed over endpoints: per method and status, and (method ANY_METHOD) per
# status only. Totals, method and status splits and time series read these few rows per
# bucket instead of every endpoint's.
rollup_totals = sa.Table(
    "rollup_totals",
    metadata,
    sa.Column("owner_id", sa.String(64), primary_key=True),
    sa.Column("level", sa.SmallInteger, primary_key=True),
    sa.Column("bucket_us", sa.BigInteger, primary_key=True),
    sa.Column("method", sa.String(16), primary_key=True),
    sa.Column("status_code", sa.SmallInteger, primary_key=True),
    sa.Column("requests", sa.BigInteger, nullable=False),
    sa.Column("sum_us", sa.BigInteger, nullable=False),
    sa.Column("min_us", sa.BigInteger, nullable=False),
    sa.Column("max_us", sa.BigInteger, nullable=False),
    sqlite_with_rowid=False,
)

rollup_latency = sa.Table(
    "rollup_latency",
    metadata,
    sa.Column("owner_id", sa.String(64), primary_key=True),
    sa.Column("level", sa.SmallInteger, primary_key=True),
    # Endpoint before time: one endpoint's (or ANY_ENDPOINT's) buckets are one key range.
    sa.Column("endpoint_key", _ENDPOINT_KEY, primary_key=True),
    sa.Column("bucket_us", sa.BigInteger, primary_key=True),
    sa.Column("method", sa.String(16), primary_key=True),
    sa.Column("latency_bucket", sa.SmallInteger, primary_key=True),
    sa.Column("requests", sa.BigInteger, nullable=False),
    sqlite_with_rowid=False,
)

# rollup_latency with 16 latency buckets to one (domain.latency.coarse_bucket), for the rows
# read by percentile: all endpoints and methods at hour and day (time series), each endpoint per
# method at day and all time (top endpoints). A dashboard finds the coarse bucket holding each
# p95 here and reads only its fine rows (docs/storage.md). Migration 0009.
rollup_latency_coarse = sa.Table(
    "rollup_latency_coarse",
    metadata,
    sa.Column("owner_id", sa.String(64), primary_key=True),
    sa.Column("level", sa.SmallInteger, primary_key=True),
    sa.Column("endpoint_key", _ENDPOINT_KEY, primary_key=True),
    sa.Column("bucket_us", sa.BigInteger, primary_key=True),
    sa.Column("method", sa.String(16), primary_key=True),
    sa.Column("coarse_bucket", sa.SmallInteger, primary_key=True),
    sa.Column("requests", sa.BigInteger, nullable=False),
    sqlite_with_rowid=False,
)

rollup_ips = sa.Table(
    "rollup_ips",
    metadata,
    sa.Column("owner_id", sa.String(64), primary_key=True),
    sa.Column("level", sa.SmallInteger, primary_key=True),
    sa.Column("endpoint_key", _ENDPOINT_KEY, primary_key=True),
    sa.Column("bucket_us", sa.BigInteger, primary_key=True),
    sa.Column("method", sa.String(16), primary_key=True),
    sa.Column("ip", sa.String(64), primary_key=True),
    sa.Column("requests", sa.BigInteger, nullable=False),
    sqlite_with_rowid=False,
)
# Migration 0007 also indexes the rows summed over methods (method ANY_METHOD: all time and
# days) by count, `ix_rollup_ips_ranked (owner_id, level, bucket_us, requests DESC, ip)
# WHERE method = ''` (ip in code point order), so one bucket's top IPs are its first rows.
IP_RANKING_INDEX = "ix_rollup_ips_ranked"
# Migration 0008 indexes the latency rows summed over methods likewise (a time series of all
# endpoints reads only those): `ix_rollup_latency_summed (owner_id, level, bucket_us,
# latency_bucket, requests) WHERE method = ''`.

# The oldest and newest created_us an owner ever sent (kept when retention deletes raw rows).
owner_spans = sa.Table(
    "owner_spans",
    metadata,
    sa.Column("owner_id", sa.String(64), primary_key=True),
    sa.Column("first_us", sa.BigInteger, nullable=False),
    sa.Column("last_us", sa.BigInteger, nullable=False),
)
