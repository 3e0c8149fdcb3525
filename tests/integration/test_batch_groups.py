"""SQLite: batches waiting for the writer at the same time are stored in one transaction,
exactly as if stored one by one, and each caller gets its own answer."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import event

from analytics.adapters.sqlalchemy import SqlAlchemyLogRepository
from analytics.adapters.sqlalchemy.engine import write_transaction
from analytics.domain.batches import BatchReceipt
from analytics.domain.logs import RequestLog
from tests.builders import T0, request_log
from tests.contract.backends import migrated_engine
from tests.waiting import eventually

ROLLUP_TABLES = ("rollup_traffic", "rollup_totals", "rollup_latency", "rollup_ips", "owner_spans")
OWNERS = ("owner-a", "owner-b")


def batch(number: int) -> list[RequestLog]:
    """Logs across two hours, endpoints, methods and IPs, so batches share rollup rows."""
    return [
        request_log(
            created_at=T0 + timedelta(minutes=40 * number + i),
            endpoint=f"/items/{i % 3}",
            method=("GET", "POST")[i % 2],
            ip=f"10.0.0.{(number + i) % 4}",
            process_time_us=1000 + 37 * number + i,
            status_code=(200, 404)[i % 5 == 0],
        )
        for i in range(20)
    ]


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[sa.Engine]:
    with migrated_engine(f"sqlite:///{tmp_path / 'grouped.db'}") as opened:
        yield opened


def stored_while_the_writer_is_held(
    engine: sa.Engine, calls: list[Callable[[SqlAlchemyLogRepository], int]]
) -> tuple[list[int | BaseException], int]:
    """Run `calls` in threads while this thread holds the write transaction, so that they
    all queue for the writer; then let them write. Each call's answer (or error), and the
    number of transactions they committed."""
    repository = SqlAlchemyLogRepository(engine)
    answers: list[int | BaseException] = [0] * len(calls)
    commits: list[int] = []
    main = threading.get_ident()
    calling = [threading.Event() for _ in calls]

    def committed(_connection: object) -> None:
        if threading.get_ident() != main:
            commits.append(1)

    def run(index: int) -> None:
        calling[index].set()
        try:
            answers[index] = calls[index](repository)
        except Exception as error:  # asserted on by the caller
            answers[index] = error

    event.listen(engine, "commit", committed)
    threads = [threading.Thread(target=run, args=(index,)) for index in range(len(calls))]
    with write_transaction(engine):
        for thread in threads:
            thread.start()
        eventually(lambda: all(flag.is_set() for flag in calling), "every thread calling")
        time.sleep(0.5)  # from calling to queued takes each thread microseconds
    for thread in threads:
        thread.join(timeout=60)
    event.remove(engine, "commit", committed)
    return answers, len(commits)


def store(owner_id: str, logs: list[RequestLog], receipt: BatchReceipt | None = None) -> Callable:
    return lambda repository: repository.add_many(owner_id, logs, receipt)


def table_rows(engine: sa.Engine) -> dict[str, list[tuple]]:
    with engine.connect() as connection:
        rows = {
            table: sorted(
                tuple(row) for row in connection.exec_driver_sql(f"SELECT * FROM {table}")
            )
            for table in ROLLUP_TABLES
        }
        raw = connection.exec_driver_sql(
            "SELECT owner_id, created_us, endpoint, ip, process_time_us FROM request_logs"
        )
        rows["request_logs"] = sorted(tuple(row) for row in raw)
    return rows


def test_waiting_batches_are_stored_in_one_transaction_as_if_one_by_one(
    engine: sa.Engine, tmp_path: Path
) -> None:
    batches = [(OWNERS[number % 2], batch(number)) for number in range(8)]

    answers, commits = stored_while_the_writer_is_held(
        engine, [store(owner, logs) for owner, logs in batches]
    )

    assert answers == [len(logs) for _, logs in batches]
    # The first caller may have taken the writer alone; all the others wait and go together.
    assert commits <= 2
    with migrated_engine(f"sqlite:///{tmp_path / 'one_by_one.db'}") as alone:
        repository = SqlAlchemyLogRepository(alone)
        for owner, logs in batches:
            repository.add_many(owner, logs)
        assert table_rows(engine) == table_rows(alone)


def test_a_batch_id_seen_earlier_in_the_same_group_stores_nothing_again(
    engine: sa.Engine,
) -> None:
    receipt = BatchReceipt(uuid.uuid4(), datetime(2024, 2, 7, 9, tzinfo=UTC))
    retried = batch(1)
    calls = [store(OWNERS[0], batch(0)), store(OWNERS[0], retried, receipt)]
    calls += [store(OWNERS[0], retried, receipt), store(OWNERS[0], batch(2))]

    answers, commits = stored_while_the_writer_is_held(engine, calls)

    assert answers == [20, 20, 20, 20]
    assert commits <= 2
    with engine.connect() as connection:
        stored = connection.exec_driver_sql("SELECT count(*) FROM request_logs").scalar_one()
        requests = connection.exec_driver_sql(
            "SELECT sum(requests) FROM rollup_totals WHERE level = 3 AND method = ''"
        ).scalar_one()
    assert stored == requests == 60


def test_a_batch_that_cannot_be_stored_fails_alone(engine: sa.Engine) -> None:
    unstorable = [*batch(1), request_log(process_time_us=2**63)]  # past a signed 64-bit column
    calls = [store(OWNERS[0], batch(0)), store(OWNERS[0], unstorable), store(OWNERS[1], batch(2))]

    answers, _ = stored_while_the_writer_is_held(engine, calls)

    assert answers[0] == answers[2] == 20
    assert isinstance(answers[1], Exception)
    with engine.connect() as connection:
        stored = connection.exec_driver_sql("SELECT count(*) FROM request_logs").scalar_one()
    assert stored == 40
