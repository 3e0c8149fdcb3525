"""Engines for SQLite files and PostgreSQL, and the transactions the repositories run in.

SQLite allows one writer at a time. Writers queue on a `SqliteWriteGate` (a thread lock, and
an flock on a file beside the database so that server processes queue in the kernel and wake
as soon as the writer before them is done, instead of polling through `busy_timeout`'s
growing sleeps), then take the database's write lock up front with `BEGIN IMMEDIATE`, so a
write never starts as a reader and fails to upgrade its lock (the one case `busy_timeout`
cannot retry). `busy_timeout` still covers writers that bypass the gate (other programs).
Readers use plain `BEGIN`, which in WAL mode gives each a consistent snapshot without
blocking the writer.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.pool import StaticPool

from analytics.adapters.sqlalchemy.errors import storage_errors
from analytics.adapters.sqlalchemy.write_health import write_health

try:
    import fcntl
except ImportError:  # not POSIX: writers of other processes rely on busy_timeout alone
    fcntl = None  # type: ignore[assignment]

SQLITE_BUSY_TIMEOUT_MS = 30_000
# The writer connection's page cache (allocated as pages are used; readers keep SQLite's
# 2 MiB). A batch's rollup upserts touch pages all over the rollup B-trees: a few MB.
SQLITE_WRITER_CACHE_KIB = 32 * 1024
# WAL pages between automatic checkpoints (default 1000, 4 MiB: about every batch). The
# hot rollup pages (today, all time) are then copied to the database once per checkpoint
# instead of once per batch.
SQLITE_WAL_AUTOCHECKPOINT_PAGES = 8192
POSTGRES_CONNECT_TIMEOUT_S = 5
POOL_TIMEOUT_S = 10
_WRITE_OPTION = "analytics_write"


class SqliteWriteGate:
    """Lets one writer at a time, of all threads and processes, at one SQLite database."""

    def __init__(self, lock_path: Path | None) -> None:
        self._lock_path = lock_path
        self._thread_lock = threading.Lock()
        self._lock_file: int | None = None

    @contextmanager
    def held(self) -> Iterator[None]:
        with self._thread_lock:
            if self._lock_path is None or fcntl is None:
                yield
                return
            if self._lock_file is None:
                self._lock_file = os.open(self._lock_path, os.O_RDWR | os.O_CREAT, 0o600)
            fcntl.flock(self._lock_file, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(self._lock_file, fcntl.LOCK_UN)


# One gate per database file and process: a forked child must not share its parent's lock
# file description (flock would then let both in), so gates are rebuilt after a fork.
_gates: dict[tuple[int, str], SqliteWriteGate] = {}
_gates_guard = threading.Lock()


def create_database_engine(url: str) -> Engine:
    """An engine for `sqlite:///path` or PostgreSQL (`postgresql+psycopg://`, `postgres://`)."""
    parsed = _normalized(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(parsed)
    if parsed.get_backend_name() == "postgresql":
        return _postgres_engine(parsed)
    raise ValueError(f"unsupported database URL scheme: {parsed.drivername}")


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """A connection in a write transaction, committed on success, rolled back on error."""
    with (
        _write_gate(engine),
        write_health(engine).watching(),
        storage_errors(),
        _writer_connection(engine) as connection,
        connection.begin(),
    ):
        yield connection


@contextmanager
def read_transaction(engine: Engine) -> Iterator[Connection]:
    """A connection in a read transaction whose statements all see one snapshot."""
    with storage_errors(), engine.connect() as connection:
        if not is_sqlite(engine):
            # READ COMMITTED would give every statement of a dashboard its own snapshot;
            # a read-only REPEATABLE READ transaction never fails to serialize.
            connection.execution_options(isolation_level="REPEATABLE READ")
        with connection.begin():
            yield connection


def _normalized(url: str) -> URL:
    if url.startswith("postgres://"):
        url = "postgresql://" + url.removeprefix("postgres://")
    parsed = make_url(url)
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def _postgres_engine(url: URL) -> Engine:
    connect_args: dict[str, Any] = {}
    if "connect_timeout" not in url.query:
        connect_args["connect_timeout"] = POSTGRES_CONNECT_TIMEOUT_S
    return sa.create_engine(
        url,
        connect_args=connect_args,
        pool_size=10,
        max_overflow=20,
        pool_timeout=POOL_TIMEOUT_S,
        pool_recycle=1800,
        # A restarted server must not cost one failed request per pooled connection.
        pool_pre_ping=True,
    )


def _sqlite_engine(url: URL) -> Engine:
    database = url.database or ""
    in_memory = database in ("", ":memory:")
    if in_memory:
        engine = sa.create_engine(
            url, poolclass=StaticPool, connect_args={"check_same_thread": False}
        )
    else:
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(
            url,
            pool_size=8,
            max_overflow=24,
            pool_timeout=POOL_TIMEOUT_S,
            connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
        )
    event.listen(engine, "connect", _configure_sqlite_connection)
    event.listen(engine, "begin", _begin_sqlite_transaction)
    event.listen(engine, "engine_disposed", _close_sqlite_writer)
    return engine


def _configure_sqlite_connection(dbapi_connection: Any, _record: Any) -> None:
    # Take transaction control from the sqlite3 module (its legacy mode starts no
    # transaction for SELECT or DDL); `_begin_sqlite_transaction` emits BEGIN instead.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute(f"PRAGMA wal_autocheckpoint = {SQLITE_WAL_AUTOCHECKPOINT_PAGES}")
        cursor.execute("PRAGMA foreign_keys = ON")
    finally:
        cursor.close()


def _begin_sqlite_transaction(connection: Connection) -> None:
    writes = connection.get_execution_options().get(_WRITE_OPTION, False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if writes else "BEGIN")


@contextmanager
def _writer_connection(engine: Engine) -> Iterator[Connection]:
    """A connection for a write; the caller holds the write gate.

    A SQLite file gets the same connection for every write of this process (its
    `SqliteWriter`), so that its page cache stays warm: SQLite empties a connection's cache
    whenever another connection wrote since its last transaction, and with writes taking
    turns on pooled connections every batch started cold and read again the rollup pages the
    batch before had just written.
    """
    writer = _sqlite_writer(engine)
    if writer is None:
        with engine.connect() as connection:
            connection.execution_options(**{_WRITE_OPTION: True})
            yield connection
        return
    yield writer.connection(engine)


class SqliteWriter:
    """One pooled connection kept checked out for an engine's writes in one process.

    Only used under the write gate, so by one thread at a time. Closed by `engine.dispose()`
    (new connections may be configured differently) and replaced after it broke.
    """

    def __init__(self) -> None:
        self._connection: Connection | None = None

    def connection(self, engine: Engine) -> Connection:
        current = self._connection
        if current is not None and (current.closed or current.invalidated):
            self.close()
            current = None
        if current is None:
            current = engine.connect()
            current.execution_options(**{_WRITE_OPTION: True})
            driver_connection = current.connection.driver_connection
            driver_connection.execute(f"PRAGMA cache_size = -{SQLITE_WRITER_CACHE_KIB}")
            self._connection = current
        return current

    def close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None and not connection.closed:
            # Invalidated, so that its database connection is closed now: returned to a
            # disposed pool it would stay open.
            connection.invalidate()
            connection.close()


# On the engine itself (its writers by process id), so that they go with it.
_WRITERS = "analytics_sqlite_writers"


def _sqlite_writer(engine: Engine) -> SqliteWriter | None:
    """The engine's writer in this process; None but for SQLite files."""
    if not is_sqlite(engine) or (engine.url.database or "") in ("", ":memory:"):
        return None
    with _gates_guard:
        writers: dict[int, SqliteWriter] = engine.__dict__.setdefault(_WRITERS, {})
        # By process: a forked child must not write through its parent's connection.
        return writers.setdefault(os.getpid(), SqliteWriter())


def _close_sqlite_writer(engine: Engine) -> None:
    with _gates_guard:
        writer = engine.__dict__.get(_WRITERS, {}).pop(os.getpid(), None)
    if writer is not None:
        writer.close()


def _write_gate(engine: Engine) -> AbstractContextManager[None]:
    """Where SQLite writers queue; PostgreSQL needs no gate (row locks suffice)."""
    if not is_sqlite(engine):
        return nullcontext()
    database = engine.url.database or ""
    key = (os.getpid(), database)
    with _gates_guard:
        gate = _gates.get(key)
        if gate is None:
            in_memory = database in ("", ":memory:")
            lock_path = None if in_memory else Path(f"{database}.writelock")
            gate = _gates[key] = SqliteWriteGate(lock_path)
    return gate.held()
