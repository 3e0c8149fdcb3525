"""Ingest, listing, paging, owner isolation and time span, for every storage backend."""

from __future__ import annotations

from datetime import UTC, timedelta, timezone

import pytest

from analytics.domain.log_filter import LogFilter, LogPage
from analytics.domain.logs import RequestLog, StoredLog
from analytics.domain.time import TimeRange
from tests.builders import T0, request_log
from tests.contract.backends import Backend

OWNER = "owner-a"
OTHER = "owner-b"
EVERYTHING = LogFilter()
ALL_ROWS = LogPage(limit=1000)

# Ten logs one minute apart (the last two at the same instant), varied in every field.
LOGS = [
    request_log(
        created_at=T0 + timedelta(minutes=min(i, 8)),
        method=("GET", "POST", "DELETE")[i % 3],
        endpoint=("/api/users", "/api/orders", "/héllo")[i % 3],
        ip=(None, "10.0.0.1", "2001:db8::1", "10.0.0.2")[i % 4],
        process_time_us=(0, 999, 1000, 1001, 250_000)[i % 5],
        status_code=(200, 201, 404, 500, 302)[i % 5],
    )
    for i in range(10)
]


def listed(
    backend: Backend, log_filter: LogFilter = EVERYTHING, page: LogPage = ALL_ROWS
) -> list[RequestLog]:
    return [row.log for row in backend.logs.list(OWNER, log_filter, page)]


def newest_first(logs: list[RequestLog]) -> list[RequestLog]:
    """The listing order of logs stored in this order: created_at descending, later first."""
    indexed = sorted(enumerate(logs), key=lambda item: (item[1].created_at, item[0]), reverse=True)
    return [log for _, log in indexed]


def test_add_many_returns_how_many_it_stored(backend: Backend) -> None:
    assert backend.logs.add_many(OWNER, LOGS) == len(LOGS)
    assert backend.logs.add_many(OWNER, []) == 0


def test_a_stored_log_comes_back_with_every_field_exactly(backend: Backend) -> None:
    log = RequestLog(
        created_at=T0.replace(microsecond=654321),
        method="PATCH",
        endpoint="/api/items/{id}",
        ip="2001:db8::7",
        process_time_us=86_400_000_000,
        status_code=599,
        path="/api/items/42?x=ü",
        user_agent="curl/8.0 ☃",
        consumer="team-a",
    )
    backend.logs.add_many(OWNER, [log])
    [stored] = backend.logs.list(OWNER, EVERYTHING, ALL_ROWS)
    assert stored.log == log
    assert stored.log.created_at.utcoffset() == timedelta(0)
    assert isinstance(stored.id, int)


def test_an_aware_time_in_another_zone_is_stored_as_the_same_instant(backend: Backend) -> None:
    plus_two = timezone(timedelta(hours=2))
    backend.logs.add_many(OWNER, [request_log(created_at=T0.astimezone(plus_two))])
    [stored] = listed(backend)
    assert stored.created_at == T0
    assert stored.created_at.astimezone(UTC).hour == T0.hour


def test_listing_is_newest_first_and_breaks_time_ties_by_id(backend: Backend) -> None:
    backend.logs.add_many(OWNER, LOGS)
    rows = backend.logs.list(OWNER, EVERYTHING, ALL_ROWS)
    assert [row.log for row in rows] == newest_first(LOGS)
    same_instant = [row for row in rows if row.log.created_at == T0 + timedelta(minutes=8)]
    assert len(same_instant) == 2
    assert same_instant[0].id > same_instant[1].id
    assert same_instant[0].log == LOGS[9]


FILTERS = {
    "start is inclusive": LogFilter(time_range=TimeRange(start=T0 + timedelta(minutes=2))),
    "end is exclusive": LogFilter(time_range=TimeRange(end=T0 + timedelta(minutes=2))),
    "start and end": LogFilter(
        time_range=TimeRange(T0 + timedelta(minutes=1), T0 + timedelta(minutes=4))
    ),
    "method": LogFilter(method="POST"),
    "status code": LogFilter(status_code=404),
    "endpoint": LogFilter(endpoint="/héllo"),
    "ip": LogFilter(ip="2001:db8::1"),
    "minimum latency is inclusive": LogFilter(min_process_time_us=1000),
    "maximum latency is inclusive": LogFilter(max_process_time_us=1000),
    "several criteria at once": LogFilter(
        method="GET", min_process_time_us=1, max_process_time_us=250_000
    ),
    "nothing matches": LogFilter(endpoint="/nowhere"),
}


@pytest.mark.parametrize("log_filter", FILTERS.values(), ids=FILTERS.keys())
def test_every_filter_keeps_exactly_the_matching_logs(
    backend: Backend, log_filter: LogFilter
) -> None:
    backend.logs.add_many(OWNER, LOGS)
    expected = [log for log in newest_first(LOGS) if log_filter.matches(log)]
    assert listed(backend, log_filter) == expected
    if log_filter is not FILTERS["nothing matches"]:
        assert 0 < len(expected) < len(LOGS)


def test_limit_and_offset_cut_pages_from_the_listing(backend: Backend) -> None:
    backend.logs.add_many(OWNER, LOGS)
    everything = newest_first(LOGS)
    assert listed(backend, page=LogPage(limit=3)) == everything[:3]
    assert listed(backend, page=LogPage(limit=3, offset=3)) == everything[3:6]
    assert listed(backend, page=LogPage(limit=3, offset=9)) == everything[9:]
    assert listed(backend, page=LogPage(limit=3, offset=10)) == []


def test_before_id_continues_after_that_row_even_within_equal_times(backend: Backend) -> None:
    backend.logs.add_many(OWNER, LOGS)
    rows = backend.logs.list(OWNER, EVERYTHING, ALL_ROWS)
    for position in (0, 1, 4, len(rows) - 1):
        page = LogPage(limit=4, before_id=rows[position].id)
        assert backend.logs.list(OWNER, EVERYTHING, page) == rows[position + 1 : position + 5]


def test_before_id_applies_filter_and_offset_after_the_anchor(backend: Backend) -> None:
    backend.logs.add_many(OWNER, LOGS)
    rows = backend.logs.list(OWNER, EVERYTHING, ALL_ROWS)
    log_filter = LogFilter(method="GET")
    anchor = next(row for row in rows if row.log.method != "GET")  # the anchor need not match
    after = rows[rows.index(anchor) + 1 :]
    expected = [row for row in after if log_filter.matches(row.log)][1:3]
    page = LogPage(limit=2, offset=1, before_id=anchor.id)
    assert backend.logs.list(OWNER, log_filter, page) == expected
    assert expected


def test_paging_through_with_before_id_visits_every_row_once(backend: Backend) -> None:
    backend.logs.add_many(OWNER, LOGS)
    seen: list[StoredLog] = []
    page = LogPage(limit=3)
    while batch := backend.logs.list(OWNER, EVERYTHING, page):
        seen.extend(batch)
        page = LogPage(limit=3, before_id=batch[-1].id)
    assert [row.log for row in seen] == newest_first(LOGS)


def test_a_before_id_of_another_owner_or_of_no_row_gives_an_empty_page(backend: Backend) -> None:
    backend.logs.add_many(OWNER, LOGS)
    backend.logs.add_many(OTHER, LOGS)
    foreign = backend.logs.list(OTHER, EVERYTHING, LogPage(limit=1))[0]
    assert backend.logs.list(OWNER, EVERYTHING, LogPage(before_id=foreign.id)) == []
    missing = max(row.id for row in backend.logs.list(OTHER, EVERYTHING, ALL_ROWS)) + 1000
    assert backend.logs.list(OWNER, EVERYTHING, LogPage(before_id=missing)) == []


def test_an_owner_never_sees_another_owners_logs(backend: Backend) -> None:
    backend.logs.add_many(OWNER, LOGS[:4])
    other = [request_log(endpoint="/secret", created_at=T0 - timedelta(days=1))]
    backend.logs.add_many(OTHER, other)
    assert listed(backend) == newest_first(LOGS[:4])
    assert [row.log for row in backend.logs.list(OTHER, EVERYTHING, ALL_ROWS)] == other
    assert backend.logs.time_span(OWNER) == (T0, T0 + timedelta(minutes=3))
    assert backend.logs.list("nobody", EVERYTHING, ALL_ROWS) == []


def test_time_span_is_the_oldest_and_newest_log_or_none(backend: Backend) -> None:
    assert backend.logs.time_span(OWNER) is None
    backend.logs.add_many(OWNER, LOGS[3:] + LOGS[:3])
    assert backend.logs.time_span(OWNER) == (T0, T0 + timedelta(minutes=8))
    first, last = backend.logs.time_span(OWNER)
    assert first.utcoffset() == last.utcoffset() == timedelta(0)


def test_ids_are_unique_across_batches_and_owners(backend: Backend) -> None:
    backend.logs.add_many(OWNER, LOGS)
    backend.logs.add_many(OTHER, LOGS)
    backend.logs.add_many(OWNER, LOGS)
    ids = [
        row.id for owner in (OWNER, OTHER) for row in backend.logs.list(owner, EVERYTHING, ALL_ROWS)
    ]
    assert len(ids) == len(set(ids)) == 3 * len(LOGS)


def test_a_batch_that_cannot_be_stored_is_stored_not_at_all(backend: Backend) -> None:
    if backend.engine is None:
        pytest.skip("the in-memory adapter has no way to fail part-way through a batch")
    backend.logs.add_many(OWNER, LOGS[:2])
    unstorable = request_log(process_time_us=2**63)  # past a signed 64-bit column
    with pytest.raises(Exception):  # noqa: B017 - which error depends on the driver
        backend.logs.add_many(OWNER, [*LOGS[2:], unstorable])
    assert listed(backend) == newest_first(LOGS[:2])


def test_storage_that_answers_is_available(backend: Backend) -> None:
    assert backend.logs.is_available()
