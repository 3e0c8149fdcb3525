"""Every backend answers exactly as the reference semantics, on random logs and queries."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analytics.adapters.in_memory import InMemoryLogRepository
from analytics.domain.dashboard import DashboardQuery
from analytics.domain.log_filter import LogFilter, LogPage
from analytics.domain.logs import RequestLog
from analytics.domain.metrics import compute_dashboard_data
from tests.contract.backends import Backend, new_owner
from tests.contract.strategies import (
    ENDPOINTS,
    IPS,
    METHODS,
    STATUS_CODES,
    dashboard_queries,
    latencies_us,
    log_sets,
    time_ranges,
)

EXAMPLES = settings(
    max_examples=75,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@EXAMPLES
@given(logs=log_sets, queries=st.lists(dashboard_queries, min_size=1, max_size=3))
def test_dashboard_data_equals_the_pure_calculators(
    shared_backend: Backend, logs: list[RequestLog], queries: list[DashboardQuery]
) -> None:
    owner = new_owner()
    shared_backend.logs.add_many(owner, logs)
    for query in queries:
        assert shared_backend.logs.dashboard_data(owner, query) == compute_dashboard_data(
            logs, query
        )


log_filters = st.builds(
    LogFilter,
    time_range=time_ranges(),
    method=st.none() | st.sampled_from(METHODS),
    status_code=st.none() | st.sampled_from(STATUS_CODES),
    endpoint=st.none() | st.sampled_from(ENDPOINTS),
    ip=st.none() | st.sampled_from(IPS[1:]),
    min_process_time_us=st.none() | latencies_us,
    max_process_time_us=st.none() | latencies_us,
)


@EXAMPLES
@given(
    batches=st.lists(log_sets, min_size=1, max_size=3),
    log_filter=log_filters,
    limit=st.integers(1, 30),
    offset=st.integers(0, 10),
    anchor=st.none() | st.integers(0, 200),
)
def test_listing_equals_the_reference_adapter(
    shared_backend: Backend,
    batches: list[list[RequestLog]],
    log_filter: LogFilter,
    limit: int,
    offset: int,
    anchor: int | None,
) -> None:
    """Same logs in the same order as the in-memory adapter, for any filter and page.

    Ids differ between backends, so the `before_id` anchor is the row at the same position
    of each backend's full listing.
    """
    owner = new_owner()
    reference = InMemoryLogRepository()
    for batch in batches:
        reference.add_many(owner, batch)
        shared_backend.logs.add_many(owner, batch)
    everything = LogPage(limit=1000)
    reference_all = reference.list(owner, LogFilter(), everything)
    backend_all = shared_backend.logs.list(owner, LogFilter(), everything)
    assert [row.log for row in backend_all] == [row.log for row in reference_all]

    def page(rows: list) -> LogPage:
        before_id = rows[anchor].id if anchor is not None and anchor < len(rows) else None
        return LogPage(limit=limit, offset=offset, before_id=before_id)

    expected = reference.list(owner, log_filter, page(reference_all))
    actual = shared_backend.logs.list(owner, log_filter, page(backend_all))
    assert [row.log for row in actual] == [row.log for row in expected]


@EXAMPLES
@given(logs=log_sets)
def test_time_span_equals_the_oldest_and_newest_log(
    shared_backend: Backend, logs: list[RequestLog]
) -> None:
    owner = new_owner()
    shared_backend.logs.add_many(owner, logs)
    moments = [log.created_at for log in logs]
    expected = (min(moments), max(moments)) if moments else None
    assert shared_backend.logs.time_span(owner) == expected


@EXAMPLES
@given(
    batches=st.lists(log_sets, min_size=1, max_size=3),
    deletions=st.lists(log_filters, min_size=1, max_size=2),
    queries=st.lists(dashboard_queries, min_size=1, max_size=3),
)
def test_dashboard_data_after_deletes_equals_the_pure_calculators_of_what_remains(
    shared_backend: Backend,
    batches: list[list[RequestLog]],
    deletions: list[LogFilter],
    queries: list[DashboardQuery],
) -> None:
    owner = new_owner()
    remaining = [log for batch in batches for log in batch]
    for batch in batches:
        shared_backend.logs.add_many(owner, batch)
    for log_filter in deletions:
        expected_count = sum(1 for log in remaining if log_filter.matches(log))
        assert shared_backend.eraser.delete_matching(owner, log_filter) == expected_count
        remaining = [log for log in remaining if not log_filter.matches(log)]
    for query in queries:
        assert shared_backend.logs.dashboard_data(owner, query) == compute_dashboard_data(
            remaining, query
        )
    moments = [log.created_at for log in remaining]
    expected_span = (min(moments), max(moments)) if moments else None
    assert shared_backend.logs.time_span(owner) == expected_span
