"""How engines are configured, and failures of the database reported as StorageUnavailable."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import event

from analytics.adapters.sqlalchemy import (
    SqlAlchemyKeyRepository,
    SqlAlchemyLogRepository,
    create_database_engine,
    upgrade_schema,
)
from analytics.application.errors import StorageUnavailable
from analytics.domain.dashboard import DashboardQuery
from analytics.domain.log_filter import LogFilter, LogPage
from analytics.domain.time import Granularity
from tests.builders import request_log

DAY = DashboardQuery(granularity=Granularity.DAY)


@pytest.mark.parametrize(
    "url",
    [
        "postgres://user:secret@db.internal:5433/analytics",
        "postgresql://user:secret@db.internal:5433/analytics",
        "postgresql+psycopg://user:secret@db.internal:5433/analytics",
    ],
)
def test_every_postgres_url_spelling_uses_psycopg_3(url: str) -> None:
    engine = create_database_engine(url)  # creating an engine does not connect
    assert engine.url.drivername == "postgresql+psycopg"
    assert (engine.url.host, engine.url.port, engine.url.database) == (
        "db.internal",
        5433,
        "analytics",
    )
    assert engine.url.password == "secret"
    engine.dispose()


def test_an_unsupported_scheme_is_refused() -> None:
    with pytest.raises(ValueError, match="unsupported"):
        create_database_engine("mysql://localhost/analytics")


def test_sqlite_connections_use_wal_normal_sync_a_busy_timeout_and_foreign_keys(
    tmp_path: Path,
) -> None:
    engine = create_database_engine(f"sqlite:///{tmp_path / 'a.db'}")
    try:
        with engine.connect() as connection:
            pragma = connection.exec_driver_sql
            assert pragma("PRAGMA journal_mode").scalar() == "wal"
            assert pragma("PRAGMA synchronous").scalar() == 1  # NORMAL
            assert pragma("PRAGMA foreign_keys").scalar() == 1
            assert pragma("PRAGMA busy_timeout").scalar() >= 5000
    finally:
        engine.dispose()


def free_loopback_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def unreachable_engines(tmp_path: Path) -> dict[str, sa.Engine]:
    # A directory cannot be opened as a database file.
    return {
        "sqlite": create_database_engine(f"sqlite:///{tmp_path}"),
        "postgresql": create_database_engine(
            f"postgresql+psycopg://postgres@127.0.0.1:{free_loopback_port()}/test"
        ),
    }


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_unreachable_storage_is_unavailable_for_every_operation(tmp_path: Path, kind: str) -> None:
    engine = unreachable_engines(tmp_path)[kind]
    logs = SqlAlchemyLogRepository(engine)
    keys = SqlAlchemyKeyRepository(engine)
    try:
        assert not logs.is_available()
        with pytest.raises(StorageUnavailable):
            logs.add_many("owner", [request_log()])
        with pytest.raises(StorageUnavailable):
            logs.list("owner", LogFilter(), LogPage())
        with pytest.raises(StorageUnavailable):
            logs.dashboard_data("owner", DAY)
        with pytest.raises(StorageUnavailable):
            logs.time_span("owner")
        with pytest.raises(StorageUnavailable):
            keys.get("key")
        with pytest.raises(StorageUnavailable):
            upgrade_schema(engine)
    finally:
        engine.dispose()


def test_a_full_disk_is_unavailable_storage_and_keeps_nothing_of_the_batch(
    tmp_path: Path,
) -> None:
    engine = create_database_engine(f"sqlite:///{tmp_path / 'small.db'}")
    upgrade_schema(engine)
    logs = SqlAlchemyLogRepository(engine)
    logs.add_many("owner", [request_log()])
    with engine.connect() as connection:
        pages = connection.exec_driver_sql("PRAGMA page_count").scalar()

    @event.listens_for(engine, "connect")
    def cap_file_size(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
        # The database may not grow past its current size: SQLITE_FULL, as on a full disk.
        dbapi_connection.execute(f"PRAGMA max_page_count = {pages}")

    engine.dispose()  # new connections get the cap
    try:
        with pytest.raises(StorageUnavailable, match="full"):
            logs.add_many("owner", [request_log(path="x" * 1000)] * 5000)
        stored = logs.list("owner", LogFilter(), LogPage(limit=1000))
        assert [row.log for row in stored] == [request_log()]
        # Reading still works (above), but health reports what writes meet.
        assert not logs.is_available()
    finally:
        engine.dispose()
