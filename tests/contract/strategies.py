"""Hypothesis strategies for request logs and dashboard queries.

Times cluster around bucket edges (minute, hour, midnight, Monday, first of the month),
where an off-by-one in bucketing or in a half-open range would show; names come from small
pools so that ties, repeated IPs and filters that match something are common.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import strategies as st

from analytics.domain.dashboard import DashboardQuery
from analytics.domain.logs import RequestLog
from analytics.domain.time import Granularity, TimeRange

# Sunday 2024-03-31 23:00 UTC: within a few hours are a new day, week, month and quarter.
ANCHOR = datetime(2024, 3, 31, 23, 0, tzinfo=UTC)
SPREAD_US = 40 * 24 * 3600 * 1_000_000

ENDPOINTS = ("/a", "/b", "/B", "/ä", "/api/users/{id}", "/z")
METHODS = ("GET", "POST", "DELETE")
IPS = (None, "10.0.0.9", "10.0.0.10", "2001:db8::1", "192.168.1.1")
STATUS_CODES = (200, 201, 302, 399, 400, 404, 500, 599)

_edge_offsets_us = st.sampled_from([0, 1, -1, 59_999_999, 60_000_000, 3_599_999_999, 3_600_000_000])
moments = st.one_of(
    st.integers(-SPREAD_US, SPREAD_US).map(lambda us: ANCHOR + timedelta(microseconds=us)),
    st.tuples(st.integers(-40, 40), st.integers(-3, 3), _edge_offsets_us).map(
        lambda t: ANCHOR + timedelta(days=t[0], hours=t[1], microseconds=t[2])
    ),
)
latencies_us = st.one_of(
    st.integers(0, 2_000),
    st.integers(0, 86_400_000_000),
    st.sampled_from([0, 1, 999, 1000, 1001]),
)

request_logs = st.builds(
    RequestLog,
    created_at=moments,
    method=st.sampled_from(METHODS),
    endpoint=st.sampled_from(ENDPOINTS),
    ip=st.sampled_from(IPS),
    process_time_us=latencies_us,
    status_code=st.one_of(st.sampled_from(STATUS_CODES), st.integers(100, 599)),
)
log_sets = st.lists(request_logs, max_size=60)


@st.composite
def time_ranges(draw: st.DrawFn) -> TimeRange:
    start = draw(st.none() | moments)
    end = draw(st.none() | moments | st.just(start))  # equal bounds: an empty range
    if start is not None and end is not None and start > end:
        start, end = end, start
    return TimeRange(start, end)


dashboard_queries = st.builds(
    DashboardQuery,
    time_range=time_ranges(),
    granularity=st.sampled_from(list(Granularity)),
    endpoint=st.none() | st.sampled_from(ENDPOINTS),
    method=st.none() | st.sampled_from(METHODS),
    top=st.integers(1, 7),
)
