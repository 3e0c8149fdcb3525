"""The composition root: which adapter serves each port, chosen from the configuration.

Nothing is built when this module is imported; a `Container` builds its engine and
repositories on first use. Its configuration holds one option, `database_url`:

- `memory://`: process memory (data lives as long as the process),
- `sqlite:///path/to/file.db`: a SQLite file,
- `postgresql+psycopg://user@host/db` (or `postgresql://`, `postgres://`): PostgreSQL.
"""

from __future__ import annotations

from dependency_injector import containers, providers
from sqlalchemy.engine import Engine

from analytics.adapters.in_memory import InMemoryKeyRepository, InMemoryLogRepository
from analytics.adapters.rate_limits import InProcessTokenBuckets, SystemMonotonicClock
from analytics.adapters.sqlalchemy import (
    SqlAlchemyKeyRepository,
    SqlAlchemyLogEraser,
    SqlAlchemyLogRepository,
    SqlAlchemyRetention,
    create_database_engine,
    upgrade_schema,
)
from analytics.adapters.system import Sha256KeyHasher, SystemClock
from analytics.application.access import IssueIngestKey, RevokeKey
from analytics.application.build_dashboard import BuildDashboard
from analytics.application.check_health import CheckHealth
from analytics.application.delete_raw_logs import DeleteRawLogs
from analytics.application.expire_old_data import ExpireOldData
from analytics.application.ingest_logs import IngestLogs
from analytics.application.keys import AuthenticateKey, GenerateKey
from analytics.application.list_raw_logs import ListRawLogs
from analytics.application.rate_limits import LimitRate

MEMORY = "memory"
SQLITE = "sqlite"
POSTGRESQL = "postgresql"
_KIND_OF_SCHEME = {
    "memory": MEMORY,
    "sqlite": SQLITE,
    "postgresql": POSTGRESQL,
    "postgres": POSTGRESQL,
}


class UnsupportedDatabaseUrl(ValueError):
    """The database URL names no storage this service has."""


def storage_kind(database_url: str) -> str:
    """`memory`, `sqlite` or `postgresql`, from the URL's scheme (its driver part ignored)."""
    scheme, separator, _ = database_url.partition(":")
    kind = _KIND_OF_SCHEME.get(scheme.partition("+")[0].lower()) if separator else None
    if kind is None:
        raise UnsupportedDatabaseUrl(
            f"unsupported database URL {database_url.split(':', 1)[0]!r}: use memory://, "
            "sqlite:///path/to/file.db or postgresql+psycopg://user@host:5432/database"
        )
    return kind


def _nothing_to_prepare() -> None:
    """Process memory needs no schema and holds nothing to release."""


def _dispose_engine(engine: Engine) -> None:
    engine.dispose()


class Container(containers.DeclarativeContainer):
    config = providers.Configuration(strict=True)

    storage = providers.Callable(storage_kind, config.database_url)

    clock = providers.ThreadSafeSingleton(SystemClock)
    key_hasher = providers.ThreadSafeSingleton(Sha256KeyHasher)

    # Thread-safe singletons: sync routes run in a thread pool, and two first requests at
    # once must not each build an engine or, worse, each an in-memory store.
    engine = providers.ThreadSafeSingleton(create_database_engine, config.database_url)
    memory_keys = providers.ThreadSafeSingleton(InMemoryKeyRepository)
    memory_logs = providers.ThreadSafeSingleton(InMemoryLogRepository)
    sql_keys = providers.ThreadSafeSingleton(SqlAlchemyKeyRepository, engine)
    sql_logs = providers.ThreadSafeSingleton(SqlAlchemyLogRepository, engine)

    key_repository = providers.Selector(
        storage, memory=memory_keys, sqlite=sql_keys, postgresql=sql_keys
    )
    log_repository = providers.Selector(
        storage, memory=memory_logs, sqlite=sql_logs, postgresql=sql_logs
    )
    # The log repository also answers "is storage reachable?" (the StorageHealth port).
    storage_health = log_repository
    # Deleting logs with their rollups, retention and batch-id expiry: in memory, the log
    # repository itself; in SQL, modules of their own on the same engine.
    sql_log_eraser = providers.ThreadSafeSingleton(SqlAlchemyLogEraser, engine)
    sql_retention = providers.ThreadSafeSingleton(SqlAlchemyRetention, engine)
    log_eraser = providers.Selector(
        storage, memory=memory_logs, sqlite=sql_log_eraser, postgresql=sql_log_eraser
    )
    retention = providers.Selector(
        storage, memory=memory_logs, sqlite=sql_retention, postgresql=sql_retention
    )

    # Called once at start-up: apply the migrations (SQL) before the first request.
    prepare_storage = providers.Selector(
        storage,
        memory=providers.Callable(_nothing_to_prepare),
        sqlite=providers.Callable(upgrade_schema, engine),
        postgresql=providers.Callable(upgrade_schema, engine),
    )
    # Called once at shut-down: close pooled connections.
    release_storage = providers.Selector(
        storage,
        memory=providers.Callable(_nothing_to_prepare),
        sqlite=providers.Callable(_dispose_engine, engine),
        postgresql=providers.Callable(_dispose_engine, engine),
    )

    generate_key = providers.Factory(
        GenerateKey, keys=key_repository, hasher=key_hasher, clock=clock
    )
    authenticate_key = providers.Factory(AuthenticateKey, keys=key_repository, hasher=key_hasher)
    issue_ingest_key = providers.Factory(IssueIngestKey, generate=generate_key)
    revoke_key = providers.Factory(RevokeKey, keys=key_repository)
    ingest_logs = providers.Factory(IngestLogs, logs=log_repository, clock=clock)
    list_raw_logs = providers.Factory(ListRawLogs, logs=log_repository)
    build_dashboard = providers.Factory(BuildDashboard, logs=log_repository, clock=clock)
    check_health = providers.Factory(CheckHealth, storage=storage_health)
    delete_raw_logs = providers.Factory(DeleteRawLogs, logs=log_eraser)
    # One expiry run at a time per database (schema) among server processes; process
    # memory is reached by one process only.
    expiry_lock = providers.Selector(
        storage, memory=providers.Object(None), sqlite=sql_retention, postgresql=sql_retention
    )
    expire_old_data = providers.Factory(
        ExpireOldData, logs=retention, batch_ids=retention, clock=clock, lock=expiry_lock
    )

    # Rate limits count in this process's memory (see adapters/rate_limits.py).
    monotonic_clock = providers.ThreadSafeSingleton(SystemMonotonicClock)
    token_buckets = providers.ThreadSafeSingleton(InProcessTokenBuckets)
    limit_rate = providers.Factory(LimitRate, buckets=token_buckets, clock=monotonic_clock)


def start_storage(container: Container) -> None:
    """Build the storage the configuration names and bring its schema up to date."""
    container.prepare_storage()
    # Build the repositories now rather than on the first request.
    container.key_repository()
    container.log_repository()
