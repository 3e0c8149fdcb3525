"""Batch ids, for every storage backend: a batch stored once, answered alike on retry."""

from __future__ import annotations

import threading
import uuid
from datetime import timedelta

from analytics.domain.batches import BatchReceipt
from analytics.domain.dashboard import DashboardQuery
from analytics.domain.log_filter import LogFilter, LogPage
from analytics.domain.time import Granularity
from tests.builders import T0, request_log
from tests.contract.backends import Backend

OWNER = "owner-a"
OTHER = "owner-b"
LOGS = [request_log(endpoint=f"/e{i}", created_at=T0 + timedelta(seconds=i)) for i in range(3)]


def receipt(batch_id: uuid.UUID, seconds: int = 0) -> BatchReceipt:
    return BatchReceipt(batch_id, T0 + timedelta(seconds=seconds))


def stored(backend: Backend, owner: str = OWNER) -> int:
    return len(backend.logs.list(owner, LogFilter(), LogPage(limit=1000)))


def requests_on_dashboard(backend: Backend, owner: str = OWNER) -> int:
    query = DashboardQuery(granularity=Granularity.DAY)
    return backend.logs.dashboard_data(owner, query).overall.requests


def test_a_repeated_batch_is_answered_alike_and_stored_once(backend: Backend) -> None:
    batch_id = uuid.uuid4()
    assert backend.logs.add_many(OWNER, LOGS, receipt(batch_id)) == 3
    assert backend.logs.add_many(OWNER, LOGS, receipt(batch_id, seconds=5)) == 3
    assert stored(backend) == 3
    assert requests_on_dashboard(backend) == 3


def test_a_retry_is_answered_with_the_first_count_even_if_its_logs_differ(
    backend: Backend,
) -> None:
    batch_id = uuid.uuid4()
    backend.logs.add_many(OWNER, LOGS[:2], receipt(batch_id))
    assert backend.logs.add_many(OWNER, LOGS, receipt(batch_id)) == 2
    assert stored(backend) == 2


def test_batches_with_other_ids_or_without_ids_are_all_stored(backend: Backend) -> None:
    backend.logs.add_many(OWNER, LOGS, receipt(uuid.uuid4()))
    backend.logs.add_many(OWNER, LOGS, receipt(uuid.uuid4()))
    backend.logs.add_many(OWNER, LOGS)
    backend.logs.add_many(OWNER, LOGS)
    assert stored(backend) == 12


def test_batch_ids_are_scoped_by_owner(backend: Backend) -> None:
    batch_id = uuid.uuid4()
    backend.logs.add_many(OWNER, LOGS, receipt(batch_id))
    assert backend.logs.add_many(OTHER, LOGS[:1], receipt(batch_id)) == 1
    assert stored(backend) == 3
    assert stored(backend, OTHER) == 1


def test_concurrent_batches_with_one_id_store_once(backend: Backend) -> None:
    batch_id = uuid.uuid4()
    senders = 8
    start = threading.Barrier(senders)
    answers: list[int] = []
    errors: list[Exception] = []

    def send() -> None:
        start.wait()
        try:
            answers.append(backend.logs.add_many(OWNER, LOGS, receipt(batch_id)))
        except Exception as error:  # reported by the assertion below
            errors.append(error)

    threads = [threading.Thread(target=send) for _ in range(senders)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert answers == [3] * senders
    assert stored(backend) == 3
    assert requests_on_dashboard(backend) == 3


def test_forgotten_batch_ids_are_stored_again(backend: Backend) -> None:
    old, recent = uuid.uuid4(), uuid.uuid4()
    backend.logs.add_many(OWNER, LOGS[:1], receipt(old, seconds=0))
    backend.logs.add_many(OWNER, LOGS[:1], receipt(recent, seconds=60))
    forgetting = backend.expiry

    assert forgetting.forget_batch_ids_before(T0 + timedelta(seconds=30), limit=10) == 1

    assert backend.logs.add_many(OWNER, LOGS[:1], receipt(old)) == 1  # stored again
    assert backend.logs.add_many(OWNER, LOGS[:1], receipt(recent)) == 1  # a replay
    assert stored(backend) == 3


def test_forgetting_batch_ids_stops_at_the_limit(backend: Backend) -> None:
    for second in range(5):
        backend.logs.add_many(OWNER, LOGS[:1], receipt(uuid.uuid4(), seconds=second))
    forgetting = backend.expiry
    cutoff = T0 + timedelta(minutes=1)
    assert forgetting.forget_batch_ids_before(cutoff, limit=2) == 2
    assert forgetting.forget_batch_ids_before(cutoff, limit=2) == 2
    assert forgetting.forget_batch_ids_before(cutoff, limit=2) == 1
    assert forgetting.forget_batch_ids_before(cutoff, limit=2) == 0
