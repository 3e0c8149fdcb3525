"""Keys of the PostgreSQL advisory locks the server takes: one per purpose and schema.

Several servers may share one PostgreSQL database, each in a schema of its own (chosen by
the URL's `search_path`, as the tests and benchmarks do). A lock meant to serialise work
on one set of tables must then be keyed by the schema those tables are in, or servers of
unrelated schemas wait for each other.
"""

from __future__ import annotations

import hashlib

import sqlalchemy as sa
from sqlalchemy.engine import Connection


def schema_lock_key(connection: Connection, purpose: str) -> int:
    """The advisory lock key for `purpose` in the database and schema `connection` works
    in: the schema unqualified table names resolve to (`current_schema()`)."""
    database, schema = connection.execute(
        sa.text("SELECT current_database(), current_schema()")
    ).one()
    # PostgreSQL scopes advisory locks to the database already; naming it costs nothing
    # and keeps the key meaningful on its own.
    name = f"analytics:{purpose}:{database}:{schema or ''}"
    digest = hashlib.blake2b(name.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)  # a BIGINT, as the lock takes
