"""DELETE /raw_logs cost: how fast logs leave the raw table and the rollups, next to how
fast the same logs went in.

Loads a month of synthetic traffic (bench/common.py) through the adapter's bulk path, then
deletes through the adapter (what the route calls): one endpoint, one day, then everything
left. Prints rows per second of each. SQLite, and PostgreSQL when
ANALYTICS_BENCH_POSTGRES_URL is set.

    uv run python bench/delete.py [--logs 100000]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from common import (
    DATA_END,
    ROUTE_TEMPLATES,
    TrafficModel,
    bulk_load,
    fresh_database_url,
    prepared_database,
    print_table,
    storage_kinds,
)

from analytics.adapters.sqlalchemy import SqlAlchemyLogEraser, create_database_engine
from analytics.domain.log_filter import LogFilter
from analytics.domain.time import TimeRange

DELETIONS = (
    ("the 2nd most popular endpoint", LogFilter(endpoint=ROUTE_TEMPLATES[1])),
    (
        "one day",
        LogFilter(
            time_range=TimeRange(DATA_END - timedelta(days=11), DATA_END - timedelta(days=10))
        ),
    ),
    ("everything left", LogFilter()),
)


def run(kind: str, directory: Path, count: int) -> list[list[str]]:
    rows = []
    with fresh_database_url(kind, directory, "delete") as url:
        database = prepared_database(url)
        stored, load_s = bulk_load(database, TrafficModel().logs(count))
        rows.append([kind, f"ingest {stored} logs", f"{load_s:.1f}", f"{stored / load_s:,.0f}"])
        engine = create_database_engine(url)
        try:
            eraser = SqlAlchemyLogEraser(engine)
            for name, log_filter in DELETIONS:
                began = time.perf_counter()
                deleted = eraser.delete_matching(database.owner_id, log_filter)
                took = time.perf_counter() - began
                rate = f"{deleted / took:,.0f}" if deleted else "-"
                rows.append([kind, f"delete {name}: {deleted} logs", f"{took:.1f}", rate])
        finally:
            engine.dispose()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--logs", type=int, default=100_000)
    arguments = parser.parse_args()
    rows: list[list[str]] = []
    with tempfile.TemporaryDirectory() as directory:
        for kind in storage_kinds():
            rows += run(kind, Path(directory), arguments.logs)
    print_table(["storage", "operation", "seconds", "logs/s"], rows)


if __name__ == "__main__":
    main()
