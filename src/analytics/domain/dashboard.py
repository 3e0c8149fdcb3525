"""What a dashboard asks for, the aggregates storage answers with, and the view shown.

Storage adapters return `DashboardData`: exact integer aggregates. `render_dashboard` turns
them into the numbers users read (milliseconds, percentages, percentiles, labels), so the
arithmetic and the rounding live in one place for every adapter.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime

from analytics.domain.latency import percentile
from analytics.domain.logs import RequestLog
from analytics.domain.stats import RequestStats
from analytics.domain.time import Granularity, TimeRange

DEFAULT_TOP = 5
MAX_TOP = 100
PERCENTILES = (0.50, 0.95, 0.99)  # the summary's
ROW_PERCENTILE = 0.95  # each endpoint's and each time bucket's `p95_time`


@dataclass(frozen=True, slots=True)
class DashboardQuery:
    time_range: TimeRange = field(default_factory=TimeRange)
    granularity: Granularity | None = None  # None: chosen from the span of the data
    endpoint: str | None = None
    method: str | None = None
    top: int = DEFAULT_TOP

    def matches(self, log: RequestLog) -> bool:
        return (
            self.time_range.contains(log.created_at)
            and (self.endpoint is None or log.endpoint == self.endpoint)
            and (self.method is None or log.method == self.method)
        )

    def with_granularity(self, granularity: Granularity) -> DashboardQuery:
        return replace(self, granularity=granularity)


@dataclass(frozen=True, slots=True)
class EndpointStats:
    endpoint: str
    stats: RequestStats


@dataclass(frozen=True, slots=True)
class IpCount:
    ip: str
    requests: int


@dataclass(frozen=True, slots=True)
class BucketStats:
    bucket_start: datetime
    stats: RequestStats


@dataclass(frozen=True, slots=True)
class DashboardData:
    """The exact aggregates behind one dashboard.

    `endpoints` holds the top endpoints by requests (ties: endpoint ascending), `top_ips`
    the top non-null IPs likewise, `time_series` one entry per non-empty bucket, ascending.
    The histograms of `endpoints` and `time_series` are refined for ROW_PERCENTILE
    (`latency.refine`): fine only where the p95 lies, all that a row shows, so that storage
    may read a coarse histogram for the rest.
    """

    overall: RequestStats
    unique_ips: int
    method_usage: dict[str, int]
    status_codes: dict[int, int]
    endpoints: tuple[EndpointStats, ...]
    top_ips: tuple[IpCount, ...]
    time_series: tuple[BucketStats, ...]


def ranking_key(name: str, requests: int) -> tuple[int, str]:
    """Order of endpoint and IP tables: most requests first, then the name ascending."""
    return (-requests, name)


# ---- the view users read -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Summary:
    total_requests: int
    unique_ips: int
    avg_response_time: float | None
    min_response_time: float | None
    max_response_time: float | None
    p50_response_time: float | None
    p95_response_time: float | None
    p99_response_time: float | None
    error_rate: float


@dataclass(frozen=True, slots=True)
class EndpointRow:
    endpoint: str
    requests: int
    avg_time: float | None
    p95_time: float | None
    errors_count: int


@dataclass(frozen=True, slots=True)
class IpRow:
    ip: str
    requests: int


@dataclass(frozen=True, slots=True)
class TimeSeriesRow:
    timestamp: str
    requests: int
    avg_time: float | None
    p95_time: float | None
    error_rate: float


@dataclass(frozen=True, slots=True)
class Dashboard:
    summary: Summary
    method_usage: dict[str, int]
    endpoint_stats: list[EndpointRow]
    status_codes: dict[str, int]
    top_ips: list[IpRow]
    time_series: list[TimeSeriesRow]
    granularity: Granularity


def render_dashboard(data: DashboardData, granularity: Granularity) -> Dashboard:
    overall = data.overall
    p50, p95, p99 = (_percentile_ms(overall, q) for q in PERCENTILES)
    summary = Summary(
        total_requests=overall.requests,
        unique_ips=data.unique_ips,
        avg_response_time=_average_ms(overall),
        min_response_time=_ms(overall.min_us),
        max_response_time=_ms(overall.max_us),
        p50_response_time=p50,
        p95_response_time=p95,
        p99_response_time=p99,
        error_rate=_error_rate(overall),
    )
    return Dashboard(
        summary=summary,
        method_usage=dict(sorted(data.method_usage.items(), key=lambda i: ranking_key(*i))),
        endpoint_stats=[
            EndpointRow(
                endpoint=row.endpoint,
                requests=row.stats.requests,
                avg_time=_average_ms(row.stats),
                p95_time=_percentile_ms(row.stats, ROW_PERCENTILE),
                errors_count=row.stats.errors,
            )
            for row in data.endpoints
        ],
        status_codes={str(code): n for code, n in sorted(data.status_codes.items())},
        top_ips=[IpRow(ip=row.ip, requests=row.requests) for row in data.top_ips],
        time_series=[
            TimeSeriesRow(
                timestamp=granularity.label(row.bucket_start),
                requests=row.stats.requests,
                avg_time=_average_ms(row.stats),
                p95_time=_percentile_ms(row.stats, ROW_PERCENTILE),
                error_rate=_error_rate(row.stats),
            )
            for row in data.time_series
        ],
        granularity=granularity,
    )


def _ms(value_us: float | None) -> float | None:
    return None if value_us is None else round(value_us / 1000, 2)


def _average_ms(stats: RequestStats) -> float | None:
    return _ms(stats.sum_us / stats.requests) if stats.requests else None


def _percentile_ms(stats: RequestStats, quantile: float) -> float | None:
    if not stats.requests or stats.min_us is None or stats.max_us is None:
        return None
    return _ms(percentile(stats.histogram, quantile, stats.min_us, stats.max_us))


def _error_rate(stats: RequestStats) -> float:
    return round(100 * stats.errors / stats.requests, 2) if stats.requests else 0.0
