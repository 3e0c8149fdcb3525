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
