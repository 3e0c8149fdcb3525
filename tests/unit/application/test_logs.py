from datetime import UTC, datetime, timedelta

import pytest

from analytics.adapters.in_memory import InMemoryLogRepository
from analytics.application.build_dashboard import BuildDashboard
from analytics.application.errors import ReadNotAllowed
from analytics.application.ingest_logs import IngestLogs
from analytics.application.list_raw_logs import ListRawLogs
from analytics.domain.dashboard import DashboardQuery
from analytics.domain.keys import ApiKey, KeyScope
from analytics.domain.log_filter import LogFilter, LogPage
from analytics.domain.time import Granularity, TimeRange
from tests.builders import T0, request_log

NOW = T0 + timedelta(days=10)


class FixedClock:
    def now(self) -> datetime:
        return NOW


def key(key_id: str, scope: KeyScope = KeyScope.FULL, owner_id: str | None = None) -> ApiKey:
    return ApiKey(key_id, "hash", scope, datetime(2024, 1, 1, tzinfo=UTC), owner_id or key_id)


def test_ingested_logs_are_listed_for_their_owner_only() -> None:
    logs = InMemoryLogRepository()
    alice, bob = key("alice"), key("bob")
    assert (
        IngestLogs(logs, FixedClock()).execute(alice, [request_log(), request_log(endpoint="/x")])
        == 2
    )
    IngestLogs(logs, FixedClock()).execute(bob, [request_log(endpoint="/bob")])
    listed = ListRawLogs(logs).execute(alice, LogFilter(), LogPage())
    assert sorted(row.log.endpoint for row in listed) == ["/api/users", "/x"]


def test_an_ingest_key_stores_under_its_owner_but_may_not_read() -> None:
    logs = InMemoryLogRepository()
    owner = key("owner")
    ingest = key("ingest", KeyScope.INGEST, owner_id="owner")
    IngestLogs(logs, FixedClock()).execute(ingest, [request_log()])
    assert len(ListRawLogs(logs).execute(owner, LogFilter(), LogPage())) == 1
    with pytest.raises(ReadNotAllowed):
        ListRawLogs(logs).execute(ingest, LogFilter(), LogPage())
    with pytest.raises(ReadNotAllowed):
        BuildDashboard(logs, FixedClock()).execute(ingest, DashboardQuery())


@pytest.mark.parametrize(
    ("span", "time_range", "expected"),
    [
        (timedelta(minutes=90), TimeRange(), Granularity.MINUTE),
        (timedelta(days=2), TimeRange(), Granularity.HOUR),
        (timedelta(days=20), TimeRange(), Granularity.DAY),
        (timedelta(days=20), TimeRange(T0, T0 + timedelta(hours=1)), Granularity.MINUTE),
        (timedelta(days=20), TimeRange(NOW - timedelta(hours=24)), Granularity.HOUR),
        (timedelta(minutes=5), TimeRange(end=T0 + timedelta(days=5)), Granularity.DAY),
    ],
)
def test_the_default_granularity_follows_the_range_or_else_the_data(
    span: timedelta, time_range: TimeRange, expected: Granularity
) -> None:
    logs = InMemoryLogRepository()
    owner = key("owner")
    IngestLogs(logs, FixedClock()).execute(
        owner, [request_log(), request_log(created_at=T0 + span)]
    )
    dashboard = BuildDashboard(logs, FixedClock()).execute(owner, DashboardQuery(time_range))
    assert dashboard.granularity is expected


def test_a_dashboard_of_a_key_without_logs_is_empty() -> None:
    dashboard = BuildDashboard(InMemoryLogRepository(), FixedClock()).execute(
        key("nobody"), DashboardQuery()
    )
    assert dashboard.summary.total_requests == 0
    assert dashboard.granularity is Granularity.DAY
