"""The ingest hot path: batches split into several statements, and SQLite's writer connection."""

from __future__ import annotations

import sqlite3
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from analytics.adapters.sqlalchemy import SqlAlchemyLogRepository, create_database_engine
from analytics.adapters.sqlalchemy.bulk import MAX_ROWS_PER_STATEMENT
from analytics.adapters.sqlalchemy.engine import SQLITE_WRITER_CACHE_KIB, write_transaction
from analytics.adapters.sqlalchemy.schema import upgrade_schema
from analytics.adapters.sqlalchemy.tables import request_logs, rollup_ips
from analytics.domain.dashboard import DashboardQuery
from analytics.domain.log_filter import LogFilter, LogPage
from analytics.domain.logs import RequestLog
from analytics.domain.metrics import compute_dashboard_data
from analytics.domain.time import Granularity, TimeRange

START = datetime(2024, 6, 3, 22, 40, tzinfo=UTC)


def distinct_clients(count: int) -> list[RequestLog]:
    """A batch over nine hours in which nearly every log has an IP of its own."""
    return [
        RequestLog(
            created_at=START + timedelta(seconds=i * 11),
            method=("GET", "POST", "PUT")[i % 3],
            endpoint=f"/api/{('users', 'orders', 'items', 'tags', 'teams')[i % 5]}/{{id}}",
            ip=None if i % 50 == 0 else f"10.{i % 7}.{i // 256}.{i % 256}",
            process_time_us=(i * 7919) % 5_000_000,
            status_code=(200, 201, 204, 404, 500)[i % 5],
        )
        for i in range(count)
    ]


def test_a_batch_whose_rows_take_several_statements_is_stored_whole_and_exact(
    engine: sa.Engine,
) -> None:
    repository = SqlAlchemyLogRepository(engine)
    logs = distinct_clients(3000)
    assert repository.add_many("owner", logs) == len(logs)

    with engine.connect() as connection:
        ip_rows = connection.execute(sa.select(sa.func.count()).select_from(rollup_ips)).scalar()
        raw_rows = connection.execute(sa.select(sa.func.count()).select_from(request_logs)).scalar()
    # More rows than one SQLite statement takes: the batch went in as several.
    assert ip_rows > MAX_ROWS_PER_STATEMENT
    assert raw_rows == len(logs)
    stored = repository.list("owner", LogFilter(), LogPage(limit=1000))
    assert [row.log for row in stored] == sorted(logs, key=lambda log: log.created_at)[::-1][:1000]
    from_an_hour_to_a_minute = TimeRange(
        START.replace(minute=0) + timedelta(hours=1), START + timedelta(hours=9)
    )
    for query in (
        DashboardQuery(granularity=Granularity.HOUR),
        DashboardQuery(granularity=Granularity.DAY, time_range=from_an_hour_to_a_minute, top=20),
        DashboardQuery(granularity=Granularity.HOUR, endpoint="/api/tags/{id}", method="PUT"),
    ):
        assert repository.dashboard_data("owner", query) == compute_dashboard_data(logs, query)


def test_sqlite_writes_of_a_process_share_one_connection_with_a_large_cache(
    tmp_path: Path,
) -> None:
    engine = create_database_engine(f"sqlite:///{tmp_path / 'a.db'}")
    try:
        upgrade_schema(engine)
        used: list[sqlite3.Connection] = []

        def write() -> None:
            with write_transaction(engine) as connection:
                used.append(connection.connection.driver_connection)
                cache = connection.exec_driver_sql("PRAGMA cache_size").scalar()
                assert cache == -SQLITE_WRITER_CACHE_KIB

        threads = [threading.Thread(target=write) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len(used) == 4
        assert all(connection is used[0] for connection in used)
        # Disposing of the engine closes it: the next write opens a connection of the new pool.
        engine.dispose()
        with pytest.raises(sqlite3.ProgrammingError):
            used[0].execute("SELECT 1")
        write()
        assert used[-1] is not used[0]
    finally:
        engine.dispose()
