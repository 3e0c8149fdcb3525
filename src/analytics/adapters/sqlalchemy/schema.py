"""Applying the Alembic migrations that ship inside this package."""

from __future__ import annotations

import threading
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import Connection, Engine

from analytics.adapters.sqlalchemy.advisory_locks import schema_lock_key
from analytics.adapters.sqlalchemy.engine import is_sqlite, write_transaction

MIGRATIONS = Path(__file__).parent / "migrations"
# Alembic keeps its running context in module globals (`alembic.context`, `alembic.op`), so
# two threads of one process must not migrate at the same time, even different databases.
_alembic_in_use = threading.Lock()


def upgrade_schema(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to the newest migration (or to `revision`, for tests of old
    schemas); a no-op when it is there already.

    Safe when several processes start at once: on PostgreSQL they queue on an advisory lock
    of the schema, held for the migrating transaction, on SQLite on the database's write
    lock; whoever comes second finds the schema current. Servers of other schemas of the
    same PostgreSQL database do not wait.
    """
    with write_transaction(engine) as connection:
        if not is_sqlite(engine):
            lock = sa.text("SELECT pg_advisory_xact_lock(:key)")
            connection.execute(lock, {"key": schema_lock_key(connection, "migrations")})
        with _alembic_in_use:
            command.upgrade(_alembic_config(connection), revision)


def current_revision(engine: Engine) -> str | None:
    """The migration the database is at, or None before the first one."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def _alembic_config(connection: Connection) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config
