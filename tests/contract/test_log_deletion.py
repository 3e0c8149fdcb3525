"""Deleting logs (DELETE /raw_logs), for every storage backend: the matching logs go, and
dashboards afterwards describe exactly the logs that remain."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta

from analytics.domain.dashboard import DashboardQuery
from analytics.domain.log_filter import LogFilter, LogPage
from analytics.domain.logs import RequestLog
from analytics.domain.metrics import compute_dashboard_data
from analytics.domain.time import Granularity, TimeRange
from tests.builders import T0, request_log
from tests.contract.backends import Backend

OWNER = "owner-a"
OTHER = "owner-b"
ALL_ROWS = LogPage(limit=1000)

# Two days of logs, 40 minutes apart, varied in what dashboards group by; the extreme
# latencies sit on logs the filters below delete, so min/max must be recomputed.
LOGS = [
    request_log(
        created_at=T0 + timedelta(minutes=40 * i),
        method=("GET", "POST", "DELETE")[i % 3],
        endpoint=("/a", "/b", "/ä")[i % 3],
        ip=(None, "10.0.0.1", "2001:db8::1", "10.0.0.2")[i % 4],
        process_time_us=(7 if i == 30 else 90_000_000 if i == 31 else 1000 + 37 * i),
        status_code=(200, 201, 404, 500, 302)[i % 5],
    )
    for i in range(72)
]
QUERIES = [
    DashboardQuery(granularity=granularity)
    for granularity in (Granularity.MINUTE, Granularity.HOUR, Granularity.DAY)
] + [
    DashboardQuery(granularity=Granularity.HOUR, endpoint="/b", top=2),
    DashboardQuery(granularity=Granularity.DAY, method="POST"),
    DashboardQuery(
        granularity=Granularity.HOUR,
        time_range=TimeRange(T0 + timedelta(hours=5), T0 + timedelta(hours=30, minutes=17)),
    ),
]


def remaining_after(log_filter: LogFilter, logs: list[RequestLog] = LOGS) -> list[RequestLog]:
    return [log for log in logs if not log_filter.matches(log)]


def assert_dashboards_describe(backend: Backend, owner: str, logs: list[RequestLog]) -> None:
    for query in QUERIES:
        assert backend.logs.dashboard_data(owner, query) == compute_dashboard_data(logs, query)
    moments = [log.created_at for log in logs]
    expected_span = (min(moments), max(moments)) if moments else None
    assert backend.logs.time_span(owner) == expected_span


def test_deleting_answers_how_many_and_leaves_the_rest_listed(backend: Backend) -> None:
    backend.logs.add_many(OWNER, LOGS)
    log_filter = LogFilter(endpoint="/b", status_code=404)
    expected = remaining_after(log_filter)

    assert backend.eraser.delete_matching(OWNER, log_filter) == len(LOGS) - len(expected)

    listed = [row.log for row in backend.logs.list(OWNER, LogFilter(), ALL_ROWS)]
    assert sorted(listed, key=repr) == sorted(expected, key=repr)
    assert backend.eraser.delete_matching(OWNER, log_filter) == 0


def test_dashboards_after_a_delete_describe_the_remaining_logs(backend: Backend) -> None:
    backend.logs.add_many(OWNER, LOGS[:40])
    backend.logs.add_many(OWNER, LOGS[40:])
    remaining = LOGS
    for log_filter in (
        LogFilter(time_range=TimeRange(T0 + timedelta(hours=19, minutes=30), None)),
        LogFilter(method="GET", min_process_time_us=1500),
        LogFilter(ip="10.0.0.1"),
    ):
        backend.eraser.delete_matching(OWNER, log_filter)
        remaining = remaining_after(log_filter, remaining)
    assert_dashboards_describe(backend, OWNER, remaining)


def test_deleting_the_extremes_recomputes_min_and_max(backend: Backend) -> None:
    backend.logs.add_many(OWNER, LOGS)
    extremes = LogFilter(time_range=TimeRange(LOGS[30].created_at, LOGS[32].created_at))
    assert backend.eraser.delete_matching(OWNER, extremes) == 2
    assert_dashboards_describe(backend, OWNER, remaining_after(extremes))


def test_deleting_the_oldest_and_newest_logs_narrows_the_time_span(backend: Backend) -> None:
    backend.logs.add_many(OWNER, LOGS)
    edges = LogFilter(
        time_range=TimeRange(T0 + timedelta(minutes=81), T0 + timedelta(hours=47)),
    )
    outside = [log for log in LOGS if not edges.matches(log)]
    for log in outside:
        backend.eraser.delete_matching(
            OWNER,
            LogFilter(
                time_range=TimeRange(log.created_at, log.created_at + timedelta(microseconds=1))
            ),
        )
    assert_dashboards_describe(backend, OWNER, [log for log in LOGS if edges.matches(log)])


def test_deleting_everything_leaves_an_empty_dashboard(backend: Backend) -> None:
    backend.logs.add_many(OWNER, LOGS)
    assert backend.eraser.delete_matching(OWNER, LogFilter()) == len(LOGS)
    assert backend.logs.list(OWNER, LogFilter(), ALL_ROWS) == []
    assert_dashboards_describe(backend, OWNER, [])
    backend.logs.add_many(OWNER, LOGS[:3])  # and it starts afresh
    assert_dashboards_describe(backend, OWNER, LOGS[:3])


def test_deleting_touches_no_other_owners_logs(backend: Backend) -> None:
    backend.logs.add_many(OWNER, LOGS)
    backend.logs.add_many(OTHER, LOGS)
    assert backend.eraser.delete_matching(OWNER, LogFilter()) == len(LOGS)
    assert len(backend.logs.list(OTHER, LogFilter(), ALL_ROWS)) == len(LOGS)
    assert_dashboards_describe(backend, OTHER, LOGS)
    assert backend.eraser.delete_matching("nobody", LogFilter()) == 0


def test_deletes_during_concurrent_ingest_leave_dashboards_that_agree_with_the_raw_rows(
    backend: Backend,
) -> None:
    """Two deleters and three senders at once on one owner: afterwards every dashboard is
    exactly the pure calculators' over the raw rows that remain."""
    start = threading.Barrier(5)
    errors: list[Exception] = []

    def send(seed: int) -> None:
        start.wait()
        for batch in range(8):
            logs = [replace(log, process_time_us=log.process_time_us + seed) for log in LOGS]
            backend.logs.add_many(OWNER, logs[batch * 9 : batch * 9 + 9])

    def delete(log_filter: LogFilter) -> None:
        start.wait()
        for _ in range(6):
            backend.eraser.delete_matching(OWNER, log_filter)

    def guarded(work: Callable[[], None]) -> Callable[[], None]:
        def run() -> None:
            try:
                work()
            except Exception as error:  # reported by the assertion below
                errors.append(error)

        return run

    works = [lambda s=seed: send(s) for seed in range(3)] + [
        lambda: delete(LogFilter(endpoint="/b")),
        lambda: delete(LogFilter(status_code=404)),  # overlaps the first
    ]
    threads = [threading.Thread(target=guarded(work)) for work in works]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    remaining = [row.log for row in backend.logs.list(OWNER, LogFilter(), ALL_ROWS)]
    for query in QUERIES:
        assert backend.logs.dashboard_data(OWNER, query) == compute_dashboard_data(remaining, query)
