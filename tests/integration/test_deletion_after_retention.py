"""DELETE /raw_logs where retention already removed raw rows (docs/storage.md, "Deleting
logs"): counts, sums and histograms subtract exactly; min/max of an hour whose raw rows are
not all there keep their old values, a bound that may come from a deleted log."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from analytics.adapters.sqlalchemy import (
    SqlAlchemyLogEraser,
    SqlAlchemyLogRepository,
    SqlAlchemyRetention,
)
from analytics.domain.dashboard import DashboardQuery
from analytics.domain.log_filter import LogFilter
from analytics.domain.logs import RequestLog
from analytics.domain.metrics import overall_stats
from analytics.domain.time import Granularity, TimeRange
from tests.builders import request_log

HOUR_1 = datetime(2024, 5, 1, 10, tzinfo=UTC)
HOUR_2 = HOUR_1 + timedelta(hours=1)
ALL_TIME = DashboardQuery(granularity=Granularity.DAY)


def at(moment: datetime, minutes: int, took_us: int) -> RequestLog:
    return request_log(created_at=moment + timedelta(minutes=minutes), process_time_us=took_us)


def test_counts_are_exact_and_min_max_of_a_partly_retained_hour_stay_a_bound(
    engine: sa.Engine,
) -> None:
    logs = SqlAlchemyLogRepository(engine)
    first, second, largest = at(HOUR_1, 5, 10), at(HOUR_1, 20, 20), at(HOUR_1, 40, 90)
    later = [at(HOUR_2, 5, 40), at(HOUR_2, 10, 45)]
    logs.add_many("owner", [first, second, largest, *later])
    # Retention takes the hour's first log (its raw row; its rollups stay) ...
    SqlAlchemyRetention(engine).delete_owner_logs_before(
        "owner", HOUR_1 + timedelta(minutes=10), 100
    )
    # ... then the hour's largest is deleted by a user.
    assert (
        SqlAlchemyLogEraser(engine).delete_matching("owner", LogFilter(min_process_time_us=90)) == 1
    )

    stats = logs.dashboard_data("owner", ALL_TIME).overall
    counted = overall_stats([first, second, *later])  # what remains counted
    assert (stats.requests, stats.sum_us, stats.errors, stats.histogram) == (
        counted.requests,
        counted.sum_us,
        counted.errors,
        counted.histogram,
    )
    assert stats.min_us == 10  # exact: the retained log still counts
    assert stats.max_us == 90  # a bound: hour 1's raw rows are not all there to recompute


def test_an_hour_whose_raw_rows_are_all_there_is_recomputed_exactly(engine: sa.Engine) -> None:
    logs = SqlAlchemyLogRepository(engine)
    logs.add_many("owner", [at(HOUR_1, 5, 10), at(HOUR_1, 40, 90), at(HOUR_2, 5, 40)])
    SqlAlchemyRetention(engine).delete_owner_logs_before(
        "owner", HOUR_1 + timedelta(minutes=10), 100
    )
    SqlAlchemyLogEraser(engine).delete_matching("owner", LogFilter(time_range=TimeRange(HOUR_2)))

    stats = logs.dashboard_data("owner", ALL_TIME).overall
    assert (stats.requests, stats.min_us, stats.max_us) == (2, 10, 90)
    # The span's end moves into the last hour left, but no further: with one of that hour's
    # raw rows gone, no raw row tells when its last log was, so the hour's end bounds it.
    assert logs.time_span("owner") == (
        HOUR_1 + timedelta(minutes=5),
        HOUR_2 - timedelta(microseconds=1),
    )
