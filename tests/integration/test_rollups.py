"""Rollups: kept in the ingest transaction, read instead of raw rows, kept by retention."""

from __future__ import annotations

import multiprocessing
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy import event

from analytics.adapters.sqlalchemy import SqlAlchemyLogRepository, create_database_engine
from analytics.adapters.sqlalchemy.mapping import log_row, to_epoch_us
from analytics.adapters.sqlalchemy.retention import SqlAlchemyRetention
from analytics.adapters.sqlalchemy.rollups import endpoint_key
from analytics.adapters.sqlalchemy.schema import _alembic_config, upgrade_schema
from analytics.adapters.sqlalchemy.tables import (
    request_logs,
    rollup_ips,
    rollup_latency,
    rollup_latency_coarse,
    rollup_totals,
    rollup_traffic,
)
from analytics.application.expire_old_data import ExpireOldData
from analytics.domain.dashboard import ROW_PERCENTILE, DashboardQuery
from analytics.domain.latency import coarse_bucket, coarse_buckets_to_refine, coarse_histogram
from analytics.domain.log_filter import LogFilter, LogPage
from analytics.domain.logs import RequestLog
from analytics.domain.metrics import compute_dashboard_data
from analytics.domain.stats import RequestStats
from analytics.domain.time import Granularity, TimeRange
from tests.contract.backends import (
    migrated_engine,
    postgres_schema_url,
    require_postgres_url,
)

START = datetime(2024, 3, 28, 21, 17, 3, tzinfo=UTC)


def traffic(count: int, seed: int = 0) -> list[RequestLog]:
    """Logs spread over about five days, varied in every dimension a dashboard groups by."""
    return [
        RequestLog(
            created_at=START + timedelta(seconds=(i * 7919 + seed * 104729) % 450_000),
            method=("GET", "GET", "POST", "DELETE")[i % 4],
            endpoint=f"/api/{('users', 'orders', 'items', 'ünïcode')[(i * 7) % 4]}",
            ip=None if i % 9 == 0 else f"10.0.{i % 3}.{(i * 13) % 17}",
            process_time_us=(i * 7727) % 2_000_000,
            status_code=(200, 200, 201, 404, 500)[i % 5],
        )
        for i in range(count)
    ]


def queries() -> list[DashboardQuery]:
    hour_aligned = TimeRange(datetime(2024, 3, 29, tzinfo=UTC), datetime(2024, 4, 1, 5, tzinfo=UTC))
    return [
        DashboardQuery(granularity=granularity)
        for granularity in (Granularity.HOUR, Granularity.DAY, Granularity.WEEK, Granularity.MONTH)
    ] + [
        DashboardQuery(granularity=Granularity.DAY, time_range=hour_aligned, top=3),
        DashboardQuery(
            granularity=Granularity.HOUR, time_range=hour_aligned, endpoint="/api/ünïcode"
        ),
        DashboardQuery(granularity=Granularity.DAY, method="POST", top=2),
    ]


class _Clock:
    def __init__(self, now: datetime) -> None:
        self._now = now

    def now(self) -> datetime:
        return self._now


def delete_older_than(engine: sa.Engine, cutoff: datetime, batch_size: int) -> int:
    """Retention as the server runs it, with `cutoff` as its cut-off time."""
    retention = SqlAlchemyRetention(engine)
    expire = ExpireOldData(retention, retention, _Clock(cutoff), batch_size=batch_size)
    return expire.execute(raw_logs_kept_for=timedelta(0)).raw_logs_deleted


def test_whole_hour_dashboards_need_no_raw_rows(engine: sa.Engine) -> None:
    """Retention deletes every raw row; dashboards over whole hours do not change."""
    repository = SqlAlchemyLogRepository(engine)
    logs = traffic(3000)
    for start in range(0, len(logs), 500):
        repository.add_many("owner", logs[start : start + 500])

    deleted = delete_older_than(engine, datetime(2100, 1, 1, tzinfo=UTC), batch_size=700)

    assert deleted == len(logs)
    assert repository.list("owner", LogFilter(), LogPage()) == []
    for query in queries():
        assert repository.dashboard_data("owner", query) == compute_dashboard_data(logs, query)
    span = (min(log.created_at for log in logs), max(log.created_at for log in logs))
    assert repository.time_span("owner") == span


def test_retention_deletes_only_older_raw_rows_of_every_owner(engine: sa.Engine) -> None:
    repository = SqlAlchemyLogRepository(engine)
    logs = traffic(400)
    repository.add_many("owner-a", logs)
    repository.add_many("owner-b", logs[:100])
    cutoff = START + timedelta(days=2)

    deleted = delete_older_than(engine, cutoff, batch_size=25)

    older = [log for log in logs if log.created_at < cutoff]
    assert deleted == len(older) + sum(log.created_at < cutoff for log in logs[:100])
    kept = repository.list("owner-a", LogFilter(), LogPage(limit=1000))
    assert sorted(row.log.created_at for row in kept) == sorted(
        log.created_at for log in logs if log.created_at >= cutoff
    )
    assert delete_older_than(engine, cutoff, batch_size=25) == 0
    all_time = DashboardQuery(granularity=Granularity.DAY)
    assert repository.dashboard_data("owner-a", all_time) == compute_dashboard_data(logs, all_time)


def test_a_failure_while_updating_rollups_leaves_no_raw_row_behind(engine: sa.Engine) -> None:
    repository = SqlAlchemyLogRepository(engine)
    before = traffic(50)
    repository.add_many("owner", before)

    @event.listens_for(engine, "before_cursor_execute")
    def fail_on_rollups(_conn, _cursor, statement, *_args) -> None:  # type: ignore[no-untyped-def]
        if "rollup_ips" in statement:
            raise RuntimeError("injected failure after the raw insert and two rollup tables")

    with pytest.raises(RuntimeError, match="injected"):
        repository.add_many("owner", traffic(50, seed=1))
    event.remove(engine, "before_cursor_execute", fail_on_rollups)

    stored = repository.list("owner", LogFilter(), LogPage(limit=1000))
    assert len(stored) == len(before)
    query = DashboardQuery(granularity=Granularity.DAY)
    assert repository.dashboard_data("owner", query) == compute_dashboard_data(before, query)


def test_rollup_rows_stay_few_however_many_logs_arrive(engine: sa.Engine) -> None:
    """The all-time level holds one row per endpoint x method x status, not per log."""
    repository = SqlAlchemyLogRepository(engine)
    logs = traffic(2000)
    repository.add_many("owner", logs)
    repository.add_many("owner", logs)
    distinct = {(log.endpoint, log.method, log.status_code) for log in logs}
    with engine.connect() as connection:
        all_time_rows = connection.execute(
            sa.select(sa.func.count()).where(
                rollup_traffic.c.owner_id == "owner", rollup_traffic.c.level == 3
            )
        ).scalar_one()
    assert all_time_rows == len(distinct)


def test_percentiles_read_fine_latency_rows_only_where_each_p95_lies(engine: sa.Engine) -> None:
    """Fine latency rows spoiled outside the coarse bucket holding each p95 change no
    dashboard: of all endpoints at the hour level, an hourly series reads them only there
    (also between raw edges); of each endpoint at the all-time level, so do the top
    endpoints."""
    repository = SqlAlchemyLogRepository(engine)
    logs = traffic(3000)
    repository.add_many("owner", logs)
    query = DashboardQuery(granularity=Granularity.HOUR, top=3)
    expected = compute_dashboard_data(logs, query)
    series_read = {
        (to_epoch_us(row.bucket_start), coarse)
        for row in expected.time_series
        for coarse in p95_coarse_buckets(row.stats)
    }
    endpoints_read = {
        (endpoint_key(row.endpoint), coarse)
        for row in expected.endpoints
        for coarse in p95_coarse_buckets(row.stats)
    }
    latency = rollup_latency.c

    series_spoiled = spoil_fine_rows(
        engine, [latency.level == 1, latency.method == ""], latency.bucket_us, series_read
    )
    endpoints_spoiled = spoil_fine_rows(
        engine,
        [latency.level == 3, latency.endpoint_key != b""],
        latency.endpoint_key,
        endpoints_read,
    )

    assert series_spoiled > len(expected.time_series)
    assert endpoints_spoiled > len(expected.endpoints)
    assert repository.dashboard_data("owner", query) == expected
    # A range off the hour: raw rows at its edges, read in full, and whole hours two-stage.
    # (Its totals read hour rows in full, so only its series is compared.)
    off_the_hour = DashboardQuery(
        TimeRange(START + timedelta(hours=2, minutes=17), START + timedelta(days=3, minutes=41)),
        granularity=Granularity.HOUR,
    )
    assert (
        repository.dashboard_data("owner", off_the_hour).time_series
        == compute_dashboard_data(logs, off_the_hour).time_series
    )


def p95_coarse_buckets(stats: RequestStats) -> set[int]:
    return coarse_buckets_to_refine(coarse_histogram(stats.histogram), (ROW_PERCENTILE,))


def spoil_fine_rows(
    engine: sa.Engine,
    criteria: list[sa.ColumnElement[bool]],
    group: sa.ColumnElement,
    read: set[tuple[object, int]],
) -> int:
    """Add 1000 to each `rollup_latency` row meeting `criteria` whose (group, coarse bucket)
    is not in `read`; how many rows that was."""
    latency = rollup_latency.c
    keys = [getattr(latency, column.name) for column in rollup_latency.primary_key]
    spoiled = 0
    with engine.begin() as connection:
        for row in connection.execute(sa.select(*keys, group).where(*criteria)).all():
            *key, grouped = row
            if (grouped, coarse_bucket(row.latency_bucket)) in read:
                continue
            matches = [column == value for column, value in zip(keys, key, strict=True)]
            connection.execute(
                sa.update(rollup_latency).where(*matches).values(requests=latency.requests + 1000)
            )
            spoiled += 1
    return spoiled


def test_upgrading_a_database_with_logs_backfills_the_rollups(tmp_path: Path) -> None:
    engine = create_database_engine(f"sqlite:///{tmp_path / 'old.db'}")
    try:
        with engine.begin() as connection:
            command.upgrade(_alembic_config(connection), "0001")
        logs = traffic(700)
        with engine.begin() as connection:  # as the schema-0001 adapter stored them
            connection.execute(sa.insert(request_logs), [log_row("owner", log) for log in logs])

        upgrade_schema(engine)

        repository = SqlAlchemyLogRepository(engine)
        for query in queries():
            assert repository.dashboard_data("owner", query) == compute_dashboard_data(logs, query)
        assert repository.time_span("owner") is not None
    finally:
        engine.dispose()


def test_upgrading_rollups_without_method_sums_adds_them(tmp_path: Path) -> None:
    """A database whose rollups were written before revision 0003 summed over methods."""
    engine = create_database_engine(f"sqlite:///{tmp_path / 'older.db'}")
    try:
        upgrade_schema(engine)
        logs = traffic(500)
        SqlAlchemyLogRepository(engine).add_many("owner", logs)
        with engine.begin() as connection:  # back to revision 0002: no method sums
            command.downgrade(_alembic_config(connection), "0002")
            for table in (rollup_latency, rollup_ips):
                assert not connection.execute(sa.select(table).where(table.c.method == "")).all()

        upgrade_schema(engine)

        repository = SqlAlchemyLogRepository(engine)
        for query in queries():
            assert repository.dashboard_data("owner", query) == compute_dashboard_data(logs, query)
    finally:
        engine.dispose()


def rollup_rows(engine: sa.Engine) -> dict[str, list[tuple]]:
    tables = (rollup_traffic, rollup_totals, rollup_latency, rollup_latency_coarse, rollup_ips)
    with engine.connect() as connection:
        return {
            table.name: sorted(tuple(row) for row in connection.execute(sa.select(table)))
            for table in tables
        }


def test_upgrading_rollups_without_totals_rebuilds_them_as_ingest_writes_them(
    engine: sa.Engine,
) -> None:
    """Revision 0007's backfill gives the very rows ingest would have written."""
    repository = SqlAlchemyLogRepository(engine)
    logs = traffic(1500)
    for start in range(0, len(logs), 400):
        repository.add_many("owner", logs[start : start + 400])
    written = rollup_rows(engine)
    with engine.begin() as connection:  # back to the rollups of revision 0004
        command.downgrade(_alembic_config(connection), "0004")
        assert "rollup_totals" not in sa.inspect(connection).get_table_names()
        assert (
            connection.execute(
                sa.select(sa.func.count())
                .select_from(rollup_ips)
                .where(rollup_ips.c.level == 2, rollup_ips.c.method == "")
            ).scalar_one()
            == 0
        )

    upgrade_schema(engine)

    assert rollup_rows(engine) == written
    for query in queries():
        assert repository.dashboard_data("owner", query) == compute_dashboard_data(logs, query)


def ingest_from_child(url: str, seed: int, start: object) -> None:
    engine = create_database_engine(url)
    try:
        repository = SqlAlchemyLogRepository(engine)
        logs = traffic(1200, seed=seed)
        start.wait()  # type: ignore[attr-defined]
        for first in range(0, len(logs), 100):
            repository.add_many("owner", logs[first : first + 100])
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_processes_ingesting_into_one_postgres_agree_with_the_raw_rows() -> None:
    """Concurrent upserts of the same rollup rows lose nothing and count nothing twice."""
    with postgres_schema_url(require_postgres_url()) as url, migrated_engine(url) as engine:
        context = multiprocessing.get_context("spawn")
        start = context.Barrier(3)
        children = [
            context.Process(target=ingest_from_child, args=(url, seed, start)) for seed in range(3)
        ]
        for child in children:
            child.start()
        for child in children:
            child.join(timeout=180)
            if child.is_alive():
                child.kill()
                child.join()
        assert [child.exitcode for child in children] == [0, 0, 0]

        repository = SqlAlchemyLogRepository(engine)
        stored = [row.log for row in repository.list("owner", LogFilter(), LogPage(limit=5000))]
        assert len(stored) == 3 * 1200
        for query in queries():
            assert repository.dashboard_data("owner", query) == compute_dashboard_data(
                stored, query
            )
