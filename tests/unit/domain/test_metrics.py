from datetime import timedelta

from analytics.domain.dashboard import (
    DashboardQuery,
    EndpointRow,
    IpCount,
    IpRow,
    render_dashboard,
)
from analytics.domain.metrics import (
    compute_dashboard_data,
    endpoint_stats,
    method_usage,
    status_codes,
    time_series,
    top_ips,
    unique_ips,
)
from analytics.domain.time import Granularity, TimeRange
from tests.builders import T0, request_log


def test_unique_ips_counts_distinct_addresses_and_ignores_missing_ones() -> None:
    logs = [request_log(ip="10.0.0.1"), request_log(ip="10.0.0.1"), request_log(ip=None)]
    assert unique_ips(logs) == 1


def test_top_ips_leave_out_missing_ips_and_break_ties_by_address() -> None:
    logs = [request_log(ip=ip) for ip in ["10.0.0.9", "10.0.0.2", None, None, None, "10.0.0.9"]]
    logs.append(request_log(ip="10.0.0.10"))
    assert top_ips(logs, top=2) == (IpCount("10.0.0.9", 2), IpCount("10.0.0.10", 1))


def test_endpoint_stats_rank_by_requests_then_endpoint_and_count_errors() -> None:
    logs = [
        request_log(endpoint="/b", status_code=500, process_time_us=3000),
        request_log(endpoint="/a", status_code=404, process_time_us=1000),
        request_log(endpoint="/c"),
        request_log(endpoint="/c", status_code=399),
    ]
    ranked = endpoint_stats(logs, top=2)
    assert [row.endpoint for row in ranked] == ["/c", "/a"]
    assert ranked[1].stats.errors == 1
    assert ranked[0].stats.errors == 0


def test_method_usage_and_status_codes_count_each_value() -> None:
    logs = [request_log(method="POST", status_code=201), request_log(), request_log()]
    assert method_usage(logs) == {"GET": 2, "POST": 1}
    assert status_codes(logs) == {200: 2, 201: 1}


def test_time_series_has_one_ascending_row_per_non_empty_bucket() -> None:
    logs = [
        request_log(created_at=T0 + timedelta(days=2)),
        request_log(created_at=T0),
        request_log(created_at=T0 + timedelta(hours=3)),
    ]
    series = time_series(logs, Granularity.DAY)
    assert [(row.bucket_start.day, row.stats.requests) for row in series] == [(7, 2), (9, 1)]


def test_dashboard_covers_only_the_queried_range_endpoint_and_method() -> None:
    logs = [
        request_log(),
        request_log(created_at=T0 - timedelta(seconds=1)),
        request_log(endpoint="/other"),
        request_log(method="POST"),
    ]
    query = DashboardQuery(
        time_range=TimeRange(T0, T0 + timedelta(hours=1)),
        granularity=Granularity.MINUTE,
        endpoint="/api/users",
        method="GET",
    )
    assert compute_dashboard_data(logs, query).overall.requests == 1


def test_rendered_dashboard_rounds_milliseconds_and_percentages() -> None:
    logs = [
        request_log(process_time_us=1000, status_code=200, ip="10.0.0.1"),
        request_log(process_time_us=2000, status_code=500, ip="10.0.0.1"),
        request_log(process_time_us=2001, status_code=200, ip=None),
    ]
    data = compute_dashboard_data(logs, DashboardQuery(granularity=Granularity.DAY))
    dashboard = render_dashboard(data, Granularity.DAY)
    summary = dashboard.summary
    assert summary.total_requests == 3
    assert summary.unique_ips == 1
    assert summary.avg_response_time == 1.67
    assert (summary.min_response_time, summary.max_response_time) == (1.0, 2.0)
    assert summary.error_rate == 33.33
    assert summary.p50_response_time is not None
    assert abs(summary.p50_response_time - 2.0) <= 0.02
    assert dashboard.status_codes == {"200": 2, "500": 1}
    assert dashboard.endpoint_stats[0] == EndpointRow(
        endpoint="/api/users",
        requests=3,
        avg_time=1.67,
        p95_time=dashboard.endpoint_stats[0].p95_time,
        errors_count=1,
    )
    assert dashboard.top_ips == [IpRow("10.0.0.1", 2)]
    assert [row.timestamp for row in dashboard.time_series] == ["2024-02-07"]
    assert dashboard.time_series[0].error_rate == 33.33


def test_a_dashboard_without_logs_has_zero_totals_and_null_times() -> None:
    data = compute_dashboard_data([], DashboardQuery(granularity=Granularity.DAY))
    dashboard = render_dashboard(data, Granularity.DAY)
    summary = dashboard.summary
    assert (summary.total_requests, summary.unique_ips, summary.error_rate) == (0, 0, 0.0)
    assert summary.avg_response_time is None
    assert summary.min_response_time is None
    assert summary.max_response_time is None
    assert summary.p50_response_time is None
    assert summary.p99_response_time is None
    assert dashboard.method_usage == {}
    assert dashboard.status_codes == {}
    assert dashboard.endpoint_stats == []
    assert dashboard.top_ips == []
    assert dashboard.time_series == []
