"""What does storing a 1000-log batch with its rollups cost on SQLite, and where does it go?

In process, no HTTP: the batches bench/ingest.py sends (a day of synthetic traffic ending
now, 40 batches of 1000 logs, sent round after round), stored into a fresh SQLite file
through the SQL adapter (`SqlAlchemyLogRepository.add_many`), as the server stores them.

- `--senders N` (default 8): N threads call `add_many` at once, each starting at another
  batch like bench/ingest.py's senders, for `--rounds` passes over the batches. Prints the
  process's CPU time per 1000 logs (all threads; `time.process_time`, which other load moves
  far less than wall-clock time) and the logs stored per second.
- `--stages`: one thread runs a batch's steps one by one (the adapter's own pieces, in one
  write transaction as `add_many` runs them) and prints the rollup rows per batch and table
  and the median CPU per step.

    uv run python bench/rollup_cost.py                  # 8 senders, 3 rounds
    uv run python bench/rollup_cost.py --stages

    # Another tree, for a side-by-side comparison (its `src` unpacked with `git archive`):
    PYTHONPATH=/tmp/old/src uv run python bench/rollup_cost.py

Not a test: prints its results and exits.
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from common import BATCH_SIZE, TrafficModel, batches, prepared_database
from ingest import DISTINCT_BATCHES

import analytics
from analytics.adapters.sqlalchemy import SqlAlchemyLogRepository, create_database_engine
from analytics.adapters.sqlalchemy.engine import write_transaction
from analytics.adapters.sqlalchemy.mapping import log_values
from analytics.adapters.sqlalchemy.rollups import BatchRollups, rollups_of
from analytics.domain.logs import RequestLog

# The rollup tables a batch upserts into, as BatchRollups names them (whatever tree is run).
TABLES = tuple(field.name for field in dataclasses.fields(BatchRollups) if field.name != "span")


def main() -> None:
    arguments = parse_arguments()
    logs = TrafficModel().logs(DISTINCT_BATCHES * BATCH_SIZE, datetime.now(UTC), timedelta(days=1))
    log_batches = list(batches(logs))
    print(f"analytics from {analytics.__path__[0]}")
    with tempfile.TemporaryDirectory(prefix="analytics-bench-") as directory:
        database = prepared_database(f"sqlite:///{Path(directory) / 'rollups.db'}")
        engine = create_database_engine(database.url)
        try:
            repository = SqlAlchemyLogRepository(engine)
            if arguments.stages:
                print_stages(repository, database.owner_id, log_batches, arguments.rounds)
            else:
                print_senders(
                    repository, database.owner_id, log_batches, arguments.senders, arguments.rounds
                )
        finally:
            engine.dispose()


def print_senders(
    repository: SqlAlchemyLogRepository,
    owner_id: str,
    log_batches: list[list[RequestLog]],
    senders: int,
    rounds: int,
) -> None:
    start = threading.Barrier(senders + 1)

    def send(first: int) -> None:
        start.wait()
        for number in range(rounds * len(log_batches)):
            repository.add_many(owner_id, log_batches[(first + number) % len(log_batches)])

    threads = [threading.Thread(target=send, args=(index,)) for index in range(senders)]
    for thread in threads:
        thread.start()
    start.wait()
    began, cpu_before = time.perf_counter(), time.process_time()
    for thread in threads:
        thread.join()
    elapsed, cpu_s = time.perf_counter() - began, time.process_time() - cpu_before
    stored = senders * rounds * len(log_batches) * BATCH_SIZE
    print(
        f"{senders} senders, {stored:,} logs: {cpu_s / stored * BATCH_SIZE * 1000:.1f} ms CPU "
        f"per {BATCH_SIZE} logs, {stored / elapsed:,.0f} logs/s"
    )


def print_stages(
    repository: SqlAlchemyLogRepository,
    owner_id: str,
    log_batches: list[list[RequestLog]],
    rounds: int,
) -> None:
    """The steps of add_many for one batch alone, timed one by one."""
    took: dict[str, list[float]] = {}
    rows_per_table: dict[str, list[int]] = {name: [] for name in TABLES}
    writer = repository._rollups  # the adapter's own statements
    for _ in range(rounds):
        for batch in log_batches:
            clock = _Clock(took)
            rows = [log_values(owner_id, log) for log in batch]
            clock.lap("row tuples")
            rollups = rollups_of(owner_id, rows)
            clock.lap("rollup aggregation")
            for name in TABLES:
                rows_per_table[name].append(len(getattr(rollups, name)))
            with write_transaction(repository._engine) as connection:
                clock.lap("begin")
                repository._insert_logs.execute(connection, rows)
                clock.lap("raw insert")
                for name in TABLES:
                    getattr(writer, f"_{name}").execute(connection, getattr(rollups, name))
                    clock.lap(f"upsert {name}")
                writer._span.execute(connection, [rollups.span])
            clock.lap("span and commit")
            took.setdefault("total", []).append(clock.total())
    for name in TABLES:
        median_rows = statistics.median(rows_per_table[name])
        print(f"rollup_{name} rows per batch: median {median_rows:,.0f}")
    for name, seconds in took.items():
        print(f"{name:<20} {statistics.median(seconds) * 1000:6.1f} ms per batch (median)")


class _Clock:
    def __init__(self, took: dict[str, list[float]]) -> None:
        self._took = took
        self._began = self._last = time.thread_time()

    def lap(self, name: str) -> None:
        now = time.thread_time()
        self._took.setdefault(name, []).append(now - self._last)
        self._last = now

    def total(self) -> float:
        return self._last - self._began


def parse_arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--senders", type=int, default=8, help="threads at once (default 8)")
    parser.add_argument("--rounds", type=int, default=3, help="passes over the batches")
    parser.add_argument("--stages", action="store_true", help="one thread, step by step")
    return parser.parse_args()


if __name__ == "__main__":
    main()
