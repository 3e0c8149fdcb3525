"""ExpireOldData on the in-memory adapter: retention takes old logs off the list (dashboards
keep counting them), batch ids are forgotten after a day, in small batches."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

import pytest

from analytics.adapters.in_memory import InMemoryLogRepository
from analytics.application.expire_old_data import ExpireOldData, ExpiryReport
from analytics.application.ingest_logs import IngestLogs
from analytics.domain.batches import BATCH_IDS_KEPT_FOR
from analytics.domain.dashboard import DashboardQuery
from analytics.domain.keys import ApiKey, KeyScope
from analytics.domain.log_filter import LogFilter, LogPage
from analytics.domain.time import Granularity
from tests.builders import T0, request_log

NOW = T0 + timedelta(days=30)
OWNER = ApiKey("owner", "hash", KeyScope.FULL, T0, "owner")
OTHER = ApiKey("other", "hash", KeyScope.FULL, T0, "other")


class MovableClock:
    def __init__(self, now: datetime) -> None:
        self.moment = now

    def now(self) -> datetime:
        return self.moment


def listed(logs: InMemoryLogRepository, key: ApiKey = OWNER) -> int:
    return len(logs.list(key.owner_id, LogFilter(), LogPage(limit=1000)))


def counted(logs: InMemoryLogRepository, key: ApiKey = OWNER) -> int:
    query = DashboardQuery(granularity=Granularity.DAY)
    return logs.dashboard_data(key.owner_id, query).overall.requests


def aged(days: list[float]) -> list:
    return [request_log(created_at=NOW - timedelta(days=d)) for d in days]


def test_retention_takes_old_logs_off_the_list_and_dashboards_keep_them() -> None:
    logs, clock = InMemoryLogRepository(), MovableClock(NOW)
    ingest = IngestLogs(logs, clock)
    ingest.execute(OWNER, aged([20, 10.5, 9.5, 1, 0]))
    ingest.execute(OTHER, aged([15, 2]))

    report = ExpireOldData(logs, logs, clock).execute(timedelta(days=10))

    assert report == ExpiryReport(raw_logs_deleted=3, batch_ids_forgotten=0)
    assert (listed(logs), counted(logs)) == (3, 5)
    assert (listed(logs, OTHER), counted(logs, OTHER)) == (1, 2)
    assert logs.time_span(OWNER.owner_id) == (NOW - timedelta(days=20), NOW)


def test_without_a_retention_raw_logs_are_kept_forever() -> None:
    logs, clock = InMemoryLogRepository(), MovableClock(NOW)
    IngestLogs(logs, clock).execute(OWNER, aged([3000, 1]))
    assert ExpireOldData(logs, logs, clock).execute(None).raw_logs_deleted == 0
    assert listed(logs) == 2


def test_deletes_in_batches_of_the_given_size() -> None:
    logs, clock = InMemoryLogRepository(), MovableClock(NOW)
    IngestLogs(logs, clock).execute(OWNER, aged([5 + i / 100 for i in range(23)]))
    report = ExpireOldData(logs, logs, clock, batch_size=4).execute(timedelta(days=1))
    assert report.raw_logs_deleted == 23
    assert listed(logs) == 0


def test_stops_between_batches_when_told_and_continues_next_time() -> None:
    logs, clock = InMemoryLogRepository(), MovableClock(NOW)
    IngestLogs(logs, clock).execute(OWNER, aged([5 + i / 100 for i in range(10)]))
    expire = ExpireOldData(logs, logs, clock, batch_size=3)

    first = expire.execute(timedelta(days=1), keep_going=lambda: listed(logs) == 10)

    assert first.raw_logs_deleted == 3
    assert expire.execute(timedelta(days=1)).raw_logs_deleted == 7


def test_batch_ids_are_forgotten_after_a_day_then_a_resent_batch_is_stored_again() -> None:
    logs, clock = InMemoryLogRepository(), MovableClock(NOW)
    ingest, expire = IngestLogs(logs, clock), ExpireOldData(logs, logs, clock)
    batch_id = uuid.uuid4()
    assert ingest.execute(OWNER, aged([0, 0]), batch_id) == 2

    clock.moment = NOW + BATCH_IDS_KEPT_FOR - timedelta(seconds=1)
    assert expire.execute(None).batch_ids_forgotten == 0
    assert ingest.execute(OWNER, aged([0, 0]), batch_id) == 2  # a replay: not stored
    assert listed(logs) == 2

    clock.moment = NOW + BATCH_IDS_KEPT_FOR + timedelta(seconds=1)
    assert expire.execute(None).batch_ids_forgotten == 1
    assert ingest.execute(OWNER, aged([0, 0]), batch_id) == 2
    assert listed(logs) == 4


def test_a_batch_size_below_one_is_refused() -> None:
    logs = InMemoryLogRepository()
    with pytest.raises(ValueError, match="batch_size"):
        ExpireOldData(logs, logs, MovableClock(NOW), batch_size=0)


class FakeExpiryLock:
    """Free or held by another process, as set; records whether it is held by us."""

    def __init__(self, free: bool) -> None:
        self.free = free
        self.held_during: list[bool] = []
        self.held = False

    @contextmanager
    def try_hold(self) -> Iterator[bool]:
        self.held = self.free
        try:
            yield self.free
        finally:
            self.held = False


def test_a_round_is_skipped_while_another_process_holds_the_expiry_lock() -> None:
    logs, clock = InMemoryLogRepository(), MovableClock(NOW)
    ingest = IngestLogs(logs, clock)
    ingest.execute(OWNER, aged([20, 0]), uuid.uuid4())
    clock.moment = NOW + BATCH_IDS_KEPT_FOR + timedelta(days=1)
    lock = FakeExpiryLock(free=False)
    expire = ExpireOldData(logs, logs, clock, lock=lock)

    assert expire.execute(timedelta(days=10)) == ExpiryReport(skipped=True)
    assert listed(logs) == 2

    lock.free = True
    assert expire.execute(timedelta(days=10)) == ExpiryReport(1, 1)
    assert listed(logs) == 1


def test_the_expiry_lock_is_held_while_deleting_and_let_go_after() -> None:
    logs, clock = InMemoryLogRepository(), MovableClock(NOW)
    IngestLogs(logs, clock).execute(OWNER, aged([20 + i / 100 for i in range(7)]))
    lock = FakeExpiryLock(free=True)
    expire = ExpireOldData(logs, logs, clock, batch_size=2, lock=lock)

    def still_holding() -> bool:
        lock.held_during.append(lock.held)
        return True

    assert expire.execute(timedelta(days=10), keep_going=still_holding).raw_logs_deleted == 7
    assert lock.held_during and all(lock.held_during)
    assert not lock.held
