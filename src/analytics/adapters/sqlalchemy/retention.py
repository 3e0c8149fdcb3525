"""Expiry in SQL: old raw logs (retention; rollups stay) and old batch ids, and the lock
that lets one server process at a time run it."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from analytics.adapters.sqlalchemy.advisory_locks import schema_lock_key
from analytics.adapters.sqlalchemy.batch_ids import batch_ids
from analytics.adapters.sqlalchemy.engine import is_sqlite, read_transaction, write_transaction
from analytics.adapters.sqlalchemy.errors import storage_errors
from analytics.adapters.sqlalchemy.mapping import to_epoch_us
from analytics.adapters.sqlalchemy.tables import owner_spans, request_logs

try:
    import fcntl
except ImportError:  # not POSIX: every process runs its expiry (harmless, see ExpireOldData)
    fcntl = None  # type: ignore[assignment]


class SqlAlchemyRetention:
    """Each deletion is one short transaction of at most `limit` rows, oldest first, so
    ingest never waits long behind it."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def try_hold(self) -> AbstractContextManager[bool]:
        """The expiry lock of this database (PostgreSQL: of its schema), if free.

        Held for a whole run, across its many short transactions, and never waited for:
        SQLite's write gate serialises each transaction but not a run, so SQLite takes a
        non-blocking `flock` on `<database>.expirylock`; PostgreSQL a session advisory lock
        keyed by the schema (`pg_try_advisory_lock`) on a connection kept for the run.
        Either goes away with the process that held it, should it die mid-run.
        """
        if is_sqlite(self._engine):
            return _sqlite_expiry_lock(self._engine.url.database or "")
        return _postgres_expiry_lock(self._engine)

    def owners_with_logs_before(self, cutoff: datetime) -> list[str]:
        cutoff_us = to_epoch_us(cutoff)
        # owner_spans keeps an owner's first log time after retention, so it only narrows
        # the candidates; one index seek per candidate tells whether old raw rows remain.
        old_rows = sa.exists().where(
            request_logs.c.owner_id == owner_spans.c.owner_id,
            request_logs.c.created_us < cutoff_us,
        )
        with read_transaction(self._engine) as connection:
            return list(
                connection.execute(
                    sa.select(owner_spans.c.owner_id)
                    .where(owner_spans.c.first_us < cutoff_us, old_rows)
                    .order_by(owner_spans.c.owner_id)
                ).scalars()
            )

    def delete_owner_logs_before(self, owner_id: str, cutoff: datetime, limit: int) -> int:
        oldest = (
            sa.select(request_logs.c.id)
            .where(
                request_logs.c.owner_id == owner_id,
                request_logs.c.created_us < to_epoch_us(cutoff),
            )
            .order_by(request_logs.c.created_us)  # walks (owner_id, created_us, id)
            .limit(limit)
        )
        with write_transaction(self._engine) as connection:
            result = connection.execute(
                sa.delete(request_logs).where(request_logs.c.id.in_(oldest.scalar_subquery()))
            )
        return result.rowcount

    def forget_batch_ids_before(self, cutoff: datetime, limit: int) -> int:
        oldest = (
            sa.select(batch_ids.c.owner_id, batch_ids.c.batch_id)
            .where(batch_ids.c.received_us < to_epoch_us(cutoff))
            .order_by(batch_ids.c.received_us)
            .limit(limit)
        )
        key = sa.tuple_(batch_ids.c.owner_id, batch_ids.c.batch_id)
        with write_transaction(self._engine) as connection:
            result = connection.execute(sa.delete(batch_ids).where(key.in_(oldest)))
        return result.rowcount


@contextmanager
def _sqlite_expiry_lock(database: str) -> Iterator[bool]:
    if database in ("", ":memory:") or fcntl is None:  # no other process reaches it
        yield True
        return
    lock_file = os.open(f"{database}.expirylock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        yield True  # closing the file releases the lock
    finally:
        os.close(lock_file)


@contextmanager
def _postgres_expiry_lock(engine: Engine) -> Iterator[bool]:
    with storage_errors(), engine.connect() as connection:
        key = schema_lock_key(connection, "expiry")
        take = sa.text("SELECT pg_try_advisory_lock(:key)")
        held = connection.execute(take, {"key": key}).scalar_one()
        # A session lock, so no transaction stays open (and holds back vacuum) for the run.
        connection.commit()
        try:
            yield held
        finally:
            if held:
                connection.execute(sa.text("SELECT pg_advisory_unlock(:key)"), {"key": key})
                connection.commit()
