"""Retention, for every storage backend: old raw logs leave the listing in small batches;
all-time dashboards still count them."""

from __future__ import annotations

from datetime import timedelta

from analytics.domain.dashboard import DashboardQuery
from analytics.domain.log_filter import LogFilter, LogPage
from analytics.domain.time import Granularity
from tests.builders import T0, request_log
from tests.contract.backends import Backend

OWNER = "owner-a"
OTHER = "owner-b"
CUTOFF = T0 + timedelta(days=3)
# Five days, one log every 6 hours, with latencies that differ per log.
LOGS = [
    request_log(created_at=T0 + timedelta(hours=6 * i), process_time_us=1000 + i) for i in range(20)
]
OLD = [log for log in LOGS if log.created_at < CUTOFF]


def listed(backend: Backend, owner: str = OWNER) -> list:
    return [row.log for row in backend.logs.list(owner, LogFilter(), LogPage(limit=1000))]


def test_owners_with_old_logs_are_listed(backend: Backend) -> None:
    backend.logs.add_many(OWNER, LOGS)
    backend.logs.add_many(OTHER, LOGS[-2:])
    assert backend.expiry.owners_with_logs_before(CUTOFF) == [OWNER]
    backend.expiry.delete_owner_logs_before(OWNER, CUTOFF, limit=100)
    assert backend.expiry.owners_with_logs_before(CUTOFF) == []


def test_deletes_the_oldest_logs_up_to_the_limit_and_only_the_owners(backend: Backend) -> None:
    backend.logs.add_many(OWNER, LOGS)
    backend.logs.add_many(OTHER, LOGS)

    assert backend.expiry.delete_owner_logs_before(OWNER, CUTOFF, limit=5) == 5
    assert sorted(log.created_at for log in listed(backend)) == [log.created_at for log in LOGS[5:]]
    assert backend.expiry.delete_owner_logs_before(OWNER, CUTOFF, limit=5) == 5
    assert backend.expiry.delete_owner_logs_before(OWNER, CUTOFF, limit=5) == len(OLD) - 10
    assert backend.expiry.delete_owner_logs_before(OWNER, CUTOFF, limit=5) == 0
    assert len(listed(backend)) == len(LOGS) - len(OLD)
    assert len(listed(backend, OTHER)) == len(LOGS)


def test_all_time_dashboards_still_count_what_retention_deleted(backend: Backend) -> None:
    backend.logs.add_many(OWNER, LOGS)
    query = DashboardQuery(granularity=Granularity.DAY)
    before = backend.logs.dashboard_data(OWNER, query)

    backend.expiry.delete_owner_logs_before(OWNER, CUTOFF, limit=100)

    assert backend.logs.dashboard_data(OWNER, query) == before
    assert backend.logs.time_span(OWNER) == (LOGS[0].created_at, LOGS[-1].created_at)
