"""Dashboard aggregates on hand-made examples, for every storage backend.

Each test states the expected numbers outright and also checks the backend against the
pure calculators, which are the reference semantics.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from analytics.domain.dashboard import DashboardData, DashboardQuery, IpCount
from analytics.domain.logs import RequestLog
from analytics.domain.metrics import compute_dashboard_data
from analytics.domain.stats import RequestStats
from analytics.domain.time import Granularity, TimeRange
from tests.builders import T0, request_log
from tests.contract.backends import Backend

OWNER = "owner-a"


def dashboard(
    backend: Backend,
    logs: list[RequestLog],
    query: DashboardQuery,
    owner: str = OWNER,
    store: bool = True,
) -> DashboardData:
    """The backend's dashboard of the owner's `logs` (stored first unless `store` is False),
    checked against the reference calculators."""
    if store and logs:
        backend.logs.add_many(owner, logs)
    data = backend.logs.dashboard_data(owner, query)
    assert data == compute_dashboard_data(logs, query)
    return data


def by_day(**fields: object) -> DashboardQuery:
    return DashboardQuery(granularity=Granularity.DAY, **fields)  # type: ignore[arg-type]


def labels(data: DashboardData, granularity: Granularity) -> list[tuple[str, int]]:
    return [(granularity.label(row.bucket_start), row.stats.requests) for row in data.time_series]


def test_no_logs_give_zero_totals_and_empty_tables(backend: Backend) -> None:
    data = dashboard(backend, [], by_day())
    assert data == DashboardData(
        overall=RequestStats(),
        unique_ips=0,
        method_usage={},
        status_codes={},
        endpoints=(),
        top_ips=(),
        time_series=(),
    )


def test_overall_stats_are_exact_integers(backend: Backend) -> None:
    logs = [
        request_log(process_time_us=1, status_code=200),
        request_log(process_time_us=2, status_code=399),
        request_log(process_time_us=86_400_000_000, status_code=400),
        request_log(process_time_us=0, status_code=599),
    ]
    overall = dashboard(backend, logs, by_day()).overall
    assert (overall.requests, overall.errors) == (4, 2)
    assert overall.sum_us == 86_400_000_003
    assert (overall.min_us, overall.max_us) == (0, 86_400_000_000)
    assert sum(overall.histogram.values()) == 4
    assert overall.histogram[-1] == 1  # zero latency has a bucket of its own


def test_endpoint_ties_are_broken_by_code_point(backend: Backend) -> None:
    # A locale-aware collation would put "/ä" next to "/a" and "/B" after "/a".
    endpoints = ["/z", "/ä", "/a", "/B", "/b", "/hot", "/hot"]
    data = dashboard(backend, [request_log(endpoint=e) for e in endpoints], by_day(top=4))
    assert [row.endpoint for row in data.endpoints] == ["/hot", "/B", "/a", "/b"]
    assert data.endpoints[0].stats.requests == 2


def test_top_endpoints_carry_their_own_stats_and_histogram(backend: Backend) -> None:
    logs = [
        request_log(endpoint="/a", process_time_us=10, status_code=500),
        request_log(endpoint="/a", process_time_us=30),
        request_log(endpoint="/b", process_time_us=20_000),
    ]
    data = dashboard(backend, logs, by_day(top=1))
    [row] = data.endpoints
    assert row.endpoint == "/a"
    assert (row.stats.requests, row.stats.errors, row.stats.sum_us) == (2, 1, 40)
    assert (row.stats.min_us, row.stats.max_us) == (10, 30)
    assert sum(row.stats.histogram.values()) == 2


def test_null_ips_count_neither_as_unique_nor_in_top_ips(backend: Backend) -> None:
    ips = [None, None, None, "10.0.0.9", "10.0.0.10", "10.0.0.9", "::1"]
    data = dashboard(backend, [request_log(ip=ip) for ip in ips], by_day(top=2))
    assert data.unique_ips == 3
    assert data.top_ips == (IpCount("10.0.0.9", 2), IpCount("10.0.0.10", 1))
    assert data.overall.requests == 7


def test_only_null_ips_give_no_unique_ips(backend: Backend) -> None:
    data = dashboard(backend, [request_log(ip=None)], by_day())
    assert (data.unique_ips, data.top_ips) == (0, ())


def test_method_usage_and_status_codes_count_every_value(backend: Backend) -> None:
    logs = [
        request_log(method="POST", status_code=201),
        request_log(method="GET", status_code=200),
        request_log(method="GET", status_code=404),
    ]
    data = dashboard(backend, logs, by_day())
    assert data.method_usage == {"POST": 1, "GET": 2}
    assert data.status_codes == {201: 1, 200: 1, 404: 1}


def test_endpoint_and_method_filters_narrow_every_part(backend: Backend) -> None:
    logs = [
        request_log(endpoint="/a", method="GET", ip="10.0.0.1"),
        request_log(endpoint="/a", method="POST", ip="10.0.0.2"),
        request_log(endpoint="/b", method="GET", ip="10.0.0.3"),
    ]
    data = dashboard(backend, logs, by_day(endpoint="/a", method="GET"))
    assert data.overall.requests == 1
    assert data.top_ips == (IpCount("10.0.0.1", 1),)
    assert [row.endpoint for row in data.endpoints] == ["/a"]
    assert data.method_usage == {"GET": 1}
    by_method = dashboard(backend, logs, by_day(method="POST"), store=False)
    assert by_method.overall.requests == 1


def test_the_time_range_is_half_open(backend: Backend) -> None:
    logs = [request_log(created_at=T0 + timedelta(microseconds=us)) for us in (-1, 0, 999, 1000)]
    query = by_day(time_range=TimeRange(T0, T0 + timedelta(microseconds=1000)))
    assert dashboard(backend, logs, query).overall.requests == 2
    only_start = by_day(time_range=TimeRange(start=T0))
    assert dashboard(backend, logs, only_start, store=False).overall.requests == 3
    only_end = by_day(time_range=TimeRange(end=T0))
    assert dashboard(backend, logs, only_end, store=False).overall.requests == 1


def test_an_empty_range_amid_the_logs_covers_nothing(backend: Backend) -> None:
    logs = [request_log(created_at=T0 + timedelta(hours=h)) for h in (0, 1, 2)]
    moment = T0 + timedelta(hours=1, minutes=30)
    for granularity in (Granularity.MINUTE, Granularity.HOUR, Granularity.DAY):
        query = DashboardQuery(granularity=granularity, time_range=TimeRange(moment, moment))
        data = dashboard(backend, logs, query, store=granularity is Granularity.MINUTE)
        assert data.overall.requests == 0
        assert data.time_series == ()


def test_a_range_holding_most_of_a_day_counts_none_of_the_hours_outside_it(
    backend: Backend,
) -> None:
    # 24 hours from 00:30: the SQL adapter reads the first day's IPs and latencies as the
    # day's rollups minus its 00:00 hour (plus raw rows from 00:30); the IP "10.0.0.1" and
    # the 5 ms latency are only in the part subtracted, and must count nowhere.
    day = datetime(2024, 5, 1, tzinfo=UTC)
    visits = [
        (timedelta(minutes=10), "10.0.0.1", 5_000),  # before the range
        (timedelta(minutes=40), "10.0.0.2", 10_000),
        (timedelta(hours=13), "10.0.0.2", 20_000),
        (timedelta(hours=23, minutes=30), "10.0.0.3", 30_000),
        (timedelta(hours=24, minutes=20), "10.0.0.4", 40_000),
        (timedelta(hours=25), "10.0.0.5", 50_000),  # after the range
    ]
    logs = [
        request_log(created_at=day + offset, ip=ip, process_time_us=took)
        for offset, ip, took in visits
    ]
    span = TimeRange(day + timedelta(minutes=30), day + timedelta(hours=24, minutes=30))
    data = dashboard(backend, logs, by_day(time_range=span, top=5))
    assert data.unique_ips == 3
    assert data.top_ips == (
        IpCount("10.0.0.2", 2),
        IpCount("10.0.0.3", 1),
        IpCount("10.0.0.4", 1),
    )
    assert (data.overall.requests, data.overall.min_us, data.overall.max_us) == (
        4,
        10_000,
        40_000,
    )
    assert sum(data.overall.histogram.values()) == 4
    assert sum(data.endpoints[0].stats.histogram.values()) == 4


def test_an_owner_sees_only_its_own_aggregates(backend: Backend) -> None:
    backend.logs.add_many("owner-b", [request_log(endpoint="/secret", ip="10.9.9.9")] * 3)
    data = dashboard(backend, [request_log()], by_day())
    assert data.overall.requests == 1
    assert [row.endpoint for row in data.endpoints] == ["/api/users"]
    assert data.unique_ips == 1


SUNDAY_NIGHT = datetime(2024, 3, 3, 23, 59, 59, 999_999, tzinfo=UTC)
MONDAY = datetime(2024, 3, 4, tzinfo=UTC)

SERIES_CASES = {
    Granularity.MINUTE: (
        [T0 + timedelta(seconds=s) for s in (0, 59, 60, 61, 3600)],
        [("2024-02-07T08:00", 2), ("2024-02-07T08:01", 2), ("2024-02-07T09:00", 1)],
    ),
    Granularity.HOUR: (
        [T0 - timedelta(microseconds=1), T0, T0 + timedelta(minutes=59), T0 + timedelta(hours=1)],
        [("2024-02-07T07:00", 1), ("2024-02-07T08:00", 2), ("2024-02-07T09:00", 1)],
    ),
    Granularity.DAY: (
        [datetime(2024, 2, 29, 23, 59, tzinfo=UTC), datetime(2024, 3, 1, tzinfo=UTC)],
        [("2024-02-29", 1), ("2024-03-01", 1)],
    ),
    Granularity.WEEK: (
        [SUNDAY_NIGHT, MONDAY, MONDAY + timedelta(days=6, hours=23), MONDAY + timedelta(days=7)],
        [("2024-02-26", 1), ("2024-03-04", 2), ("2024-03-11", 1)],
    ),
    Granularity.MONTH: (
        [
            datetime(2023, 12, 31, 23, 59, tzinfo=UTC),
            datetime(2024, 1, 1, tzinfo=UTC),
            datetime(2024, 1, 31, 23, 59, tzinfo=UTC),
            datetime(2024, 2, 29, 12, tzinfo=UTC),
        ],
        [("2023-12", 1), ("2024-01", 2), ("2024-02", 1)],
    ),
}


@pytest.mark.parametrize("granularity", list(Granularity), ids=str)
def test_time_series_buckets_are_utc_and_weeks_start_on_monday(
    backend: Backend, granularity: Granularity
) -> None:
    moments, expected = SERIES_CASES[granularity]
    logs = [request_log(created_at=moment) for moment in moments]
    data = dashboard(backend, logs, DashboardQuery(granularity=granularity))
    assert labels(data, granularity) == expected


def test_time_series_rows_carry_errors_latency_and_histograms(backend: Backend) -> None:
    logs = [
        request_log(created_at=T0, process_time_us=100, status_code=500),
        request_log(created_at=T0 + timedelta(minutes=5), process_time_us=300),
        request_log(created_at=T0 + timedelta(hours=2), process_time_us=7),
    ]
    data = dashboard(backend, logs, DashboardQuery(granularity=Granularity.HOUR))
    first, second = (row.stats for row in data.time_series)
    assert (first.requests, first.errors, first.sum_us, first.min_us, first.max_us) == (
        2,
        1,
        400,
        100,
        300,
    )
    assert sum(first.histogram.values()) == 2
    assert (second.requests, second.errors, second.sum_us) == (1, 0, 7)


def test_times_before_1970_are_bucketed_downwards(backend: Backend) -> None:
    moment = datetime(1969, 12, 31, 23, 59, 59, tzinfo=UTC)  # a Wednesday
    logs = [request_log(created_at=moment)]
    for granularity, label in [
        (Granularity.MINUTE, "1969-12-31T23:59"),
        (Granularity.HOUR, "1969-12-31T23:00"),
        (Granularity.DAY, "1969-12-31"),
        (Granularity.WEEK, "1969-12-29"),
        (Granularity.MONTH, "1969-12"),
    ]:
        query = DashboardQuery(granularity=granularity)
        data = dashboard(backend, logs, query, owner=f"owner-{granularity}")
        assert labels(data, granularity) == [(label, 1)]
