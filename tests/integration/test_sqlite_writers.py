"""Concurrent writers on one SQLite file: no 'database is locked', nothing lost."""

from __future__ import annotations

import multiprocessing
import threading
from datetime import timedelta
from multiprocessing.synchronize import Barrier as BarrierType
from pathlib import Path

from analytics.adapters.sqlalchemy import (
    SqlAlchemyLogRepository,
    create_database_engine,
    upgrade_schema,
)
from analytics.domain.dashboard import DashboardQuery
from analytics.domain.log_filter import LogFilter, LogPage
from analytics.domain.time import Granularity
from tests.builders import T0, request_log

BATCH = 100
BATCHES_PER_WRITER = 10
OWNER = "owner"


def batch(writer: int, number: int) -> list:
    return [
        request_log(
            created_at=T0 + timedelta(seconds=number, microseconds=i),
            endpoint=f"/writer/{writer}",
            process_time_us=writer * 1000 + i,
        )
        for i in range(BATCH)
    ]


def write_batches(url: str, writer: int, start: threading.Barrier | BarrierType) -> None:
    engine = create_database_engine(url)
    try:
        repository = SqlAlchemyLogRepository(engine)
        start.wait()
        for number in range(BATCHES_PER_WRITER):
            repository.add_many(OWNER, batch(writer, number))
    finally:
        engine.dispose()


def stored_per_endpoint(url: str) -> dict[str, int]:
    engine = create_database_engine(url)
    try:
        query = DashboardQuery(granularity=Granularity.DAY, top=100)
        data = SqlAlchemyLogRepository(engine).dashboard_data(OWNER, query)
        return {row.endpoint: row.stats.requests for row in data.endpoints}
    finally:
        engine.dispose()


def test_threads_writing_and_reading_at_once_lose_nothing(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'busy.db'}"
    engine = create_database_engine(url)
    upgrade_schema(engine)
    repository = SqlAlchemyLogRepository(engine)  # one engine and pool shared by all threads
    writers = 8
    start = threading.Barrier(writers + 1)
    failures: list[BaseException] = []
    done = threading.Event()

    def write(writer: int) -> None:
        try:
            start.wait()
            for number in range(BATCHES_PER_WRITER):
                repository.add_many(OWNER, batch(writer, number))
        except BaseException as error:  # collected and asserted on below
            failures.append(error)

    def read() -> None:
        try:
            start.wait()
            while not done.is_set():
                repository.list(OWNER, LogFilter(), LogPage(limit=10))
                repository.dashboard_data(OWNER, DashboardQuery(granularity=Granularity.HOUR))
        except BaseException as error:
            failures.append(error)

    threads = [threading.Thread(target=write, args=(w,)) for w in range(writers)]
    reader = threading.Thread(target=read)
    for thread in [*threads, reader]:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    done.set()
    reader.join(timeout=120)
    engine.dispose()

    assert failures == []
    expected = {f"/writer/{w}": BATCH * BATCHES_PER_WRITER for w in range(writers)}
    assert stored_per_endpoint(url) == expected


def test_processes_writing_to_one_file_lose_nothing(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    engine = create_database_engine(url)
    upgrade_schema(engine)
    engine.dispose()
    writers = 3
    context = multiprocessing.get_context("spawn")
    start = context.Barrier(writers)
    children = [context.Process(target=write_batches, args=(url, w, start)) for w in range(writers)]
    for child in children:
        child.start()
    for child in children:
        child.join(timeout=120)
        if child.is_alive():
            child.kill()
            child.join()

    assert [child.exitcode for child in children] == [0] * writers
    expected = {f"/writer/{w}": BATCH * BATCHES_PER_WRITER for w in range(writers)}
    assert stored_per_endpoint(url) == expected
