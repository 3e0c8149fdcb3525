"""The pure metric calculators: the reference semantics every storage adapter must match.

Each takes the logs a dashboard covers (already filtered by its query) and computes one
part of `DashboardData`; `compute_dashboard_data` filters and puts them together.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import datetime

from analytics.domain.dashboard import (
    ROW_PERCENTILE,
    BucketStats,
    DashboardData,
    DashboardQuery,
    EndpointStats,
    IpCount,
    ranking_key,
)
from analytics.domain.latency import refine
from analytics.domain.logs import RequestLog
from analytics.domain.stats import RequestStats
from analytics.domain.time import Granularity


def overall_stats(logs: Iterable[RequestLog]) -> RequestStats:
    stats = RequestStats()
    for log in logs:
        stats.add(log.process_time_us, log.is_error)
    return stats


def method_usage(logs: Iterable[RequestLog]) -> dict[str, int]:
    return dict(Counter(log.method for log in logs))


def status_codes(logs: Iterable[RequestLog]) -> dict[int, int]:
    return dict(Counter(log.status_code for log in logs))


def unique_ips(logs: Iterable[RequestLog]) -> int:
    return len({log.ip for log in logs if log.ip is not None})


def top_ips(logs: Iterable[RequestLog], top: int) -> tuple[IpCount, ...]:
    counts = Counter(log.ip for log in logs if log.ip is not None)
    ranked = sorted(counts.items(), key=lambda item: ranking_key(*item))
    return tuple(IpCount(ip, n) for ip, n in ranked[:top])


def endpoint_stats(logs: Iterable[RequestLog], top: int) -> tuple[EndpointStats, ...]:
    by_endpoint: dict[str, RequestStats] = {}
    for log in logs:
        by_endpoint.setdefault(log.endpoint, RequestStats()).add(log.process_time_us, log.is_error)
    ranked = sorted(by_endpoint.items(), key=lambda item: ranking_key(item[0], item[1].requests))
    for _, stats in ranked[:top]:
        stats.histogram = refine(stats.histogram, (ROW_PERCENTILE,))
    return tuple(EndpointStats(endpoint, stats) for endpoint, stats in ranked[:top])


def time_series(logs: Iterable[RequestLog], granularity: Granularity) -> tuple[BucketStats, ...]:
    by_bucket: dict[datetime, RequestStats] = {}
    for log in logs:
        bucket = granularity.bucket_start(log.created_at)
        by_bucket.setdefault(bucket, RequestStats()).add(log.process_time_us, log.is_error)
    for stats in by_bucket.values():
        stats.histogram = refine(stats.histogram, (ROW_PERCENTILE,))
    return tuple(BucketStats(bucket, by_bucket[bucket]) for bucket in sorted(by_bucket))


def compute_dashboard_data(logs: Iterable[RequestLog], query: DashboardQuery) -> DashboardData:
    """The reference `DashboardData` for `query` (whose granularity must be resolved)."""
    if query.granularity is None:
        raise ValueError("the query's granularity must be resolved first")
    covered: Sequence[RequestLog] = [log for log in logs if query.matches(log)]
    return DashboardData(
        overall=overall_stats(covered),
        unique_ips=unique_ips(covered),
        method_usage=method_usage(covered),
        status_codes=status_codes(covered),
        endpoints=endpoint_stats(covered, query.top),
        top_ips=top_ips(covered, query.top),
        time_series=time_series(covered, query.granularity),
    )
