"""Does /dashboard cost the same over 10 M stored requests as over 10 k?

For each size: bulk-load synthetic traffic (bench/common.py: ~50 routes, Zipf-like routes and
IPs, ~5% errors, a month of timestamps) into a fresh SQLite file through the adapter's
`add_many` in 1000-log batches, start `analytics serve` on it, and time GET /dashboard over
HTTP for all time and for the data's last 24 hours (median of several runs after a warm-up).
On the same file, time the naive approach, the seed's separate GROUP BY queries over the raw
table, with sqlite3 directly.

    uv run python bench/dashboard.py                          # 10k, 100k, 1M: ~4 min
    uv run python bench/dashboard.py --sizes 10k,100k,1M,10M  # 10M adds ~20 min of loading

Targets (issue 4): time at the largest size <= 2 x time at 10k; >= 100 x faster than the
naive queries at 10 M. Not a test: prints a table and exits.
"""

from __future__ import annotations

import argparse
import sqlite3
import tempfile
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg
from common import (
    DATA_END,
    Database,
    TrafficModel,
    bulk_load,
    fresh_database_url,
    libpq_url,
    median_ms,
    prepared_database,
    print_table,
    serving,
    storage_kinds,
)

# The seed answered /dashboard with one GROUP BY query per part, over every raw row.
_ERRORS = "sum(CASE WHEN status_code >= 400 THEN 1 ELSE 0 END)"
NAIVE_QUERIES = (
    # summary
    "SELECT count(*), avg(process_time_us), " + _ERRORS + ", count(DISTINCT ip)"
    " FROM request_logs WHERE owner_id = :owner",
    # method usage
    "SELECT method, count(*) FROM request_logs WHERE owner_id = :owner GROUP BY method",
    # endpoint stats
    "SELECT endpoint, method, count(*), avg(process_time_us), min(process_time_us),"
    " max(process_time_us), " + _ERRORS + " FROM request_logs"
    " WHERE owner_id = :owner GROUP BY endpoint, method ORDER BY count(*) DESC",
    # status codes
    "SELECT status_code, count(*) FROM request_logs WHERE owner_id = :owner GROUP BY status_code",
    # top IPs
    "SELECT ip, count(*) FROM request_logs WHERE owner_id = :owner GROUP BY ip"
    " ORDER BY count(*) DESC LIMIT 10",
    # per-day series
    "SELECT created_us / 86400000000, count(*), avg(process_time_us),"
    " " + _ERRORS + " FROM request_logs WHERE owner_id = :owner"
    " GROUP BY created_us / 86400000000",
)


@dataclass(frozen=True, slots=True)
class SizeResult:
    size: int
    load_s: float
    all_time_ms: float
    last_day_ms: float
    naive_ms: float
    peak_rss_mib: float


def main() -> None:
    arguments = parse_arguments()
    with tempfile.TemporaryDirectory(prefix="analytics-bench-") as directory:
        for kind in storage_kinds():
            results = []
            for size in arguments.sizes:
                with fresh_database_url(kind, Path(directory), f"dashboard-{size}") as url:
                    result = measure(url, size, arguments.runs)
                results.append(result)
                print(
                    f"{kind}, {size:,} logs: loaded in {result.load_s:.1f} s, dashboard "
                    f"{result.all_time_ms:.1f} ms (24 h: {result.last_day_ms:.1f} ms), "
                    f"naive {result.naive_ms:.1f} ms",
                    flush=True,
                )
            print(f"\n{kind}:")
            report(results)


def measure(url: str, size: int, runs: int) -> SizeResult:
    database = prepared_database(url)
    stored, load_s = bulk_load(database, TrafficModel().logs(size))
    assert stored == size, (stored, size)
    last_day = {
        "start": (DATA_END - timedelta(days=1)).isoformat(),
        "end": DATA_END.isoformat(),
    }
    with (
        serving(database.url) as server,
        httpx.Client(
            base_url=server.base_url, headers={"X-API-Key": database.api_key}, timeout=600
        ) as client,
    ):
        all_time_ms = time_dashboard(client, {}, runs)
        last_day_ms = time_dashboard(client, last_day, runs)
        peak_rss = server.peak_rss_mib()
    naive_ms = time_naive(database, max(1, runs // 2))
    return SizeResult(size, load_s, all_time_ms, last_day_ms, naive_ms, peak_rss)


def time_dashboard(client: httpx.Client, params: dict[str, str], runs: int) -> float:
    client.get("/dashboard", params=params).raise_for_status()  # warm-up: caches, pools
    durations = []
    for _ in range(runs):
        began = time.perf_counter()
        response = client.get("/dashboard", params=params)
        durations.append(time.perf_counter() - began)
        response.raise_for_status()
    return median_ms(durations)


def time_naive(database: Database, runs: int) -> float:
    """The naive queries' median time, straight through the database's own driver."""
    if database.url.startswith("sqlite"):
        connection: Any = sqlite3.connect(database.url.removeprefix("sqlite:///"))
        queries = NAIVE_QUERIES
    else:
        connection = psycopg.connect(libpq_url(database.url), autocommit=True)
        queries = tuple(q.replace(":owner", "%(owner)s") for q in NAIVE_QUERIES)
    try:
        run_all(connection, queries, database.owner_id)  # warm-up, like the dashboard's
        durations = []
        for _ in range(runs):
            began = time.perf_counter()
            run_all(connection, queries, database.owner_id)
            durations.append(time.perf_counter() - began)
    finally:
        connection.close()
    return median_ms(durations)


def run_all(connection: Any, queries: tuple[str, ...], owner_id: str) -> None:
    for query in queries:
        connection.execute(query, {"owner": owner_id}).fetchall()


def report(results: list[SizeResult]) -> None:
    print()
    print_table(
        (
            "logs",
            "load s",
            "dashboard all-time ms",
            "last 24 h ms",
            "naive ms",
            "naive / ours",
            "server peak RSS MiB",
        ),
        [
            (
                f"{r.size:,}",
                f"{r.load_s:.1f}",
                f"{r.all_time_ms:.1f}",
                f"{r.last_day_ms:.1f}",
                f"{r.naive_ms:.1f}",
                f"{r.naive_ms / r.all_time_ms:.1f} x",
                f"{r.peak_rss_mib:.0f}",
            )
            for r in results
        ],
    )
    smallest, largest = results[0], results[-1]
    growth = largest.all_time_ms / smallest.all_time_ms
    speedup = largest.naive_ms / largest.all_time_ms
    print()
    print(
        f"all-time dashboard at {largest.size:,} / at {smallest.size:,}: {growth:.2f} x "
        f"(target <= 2 x: {'met' if growth <= 2 else 'NOT met'})"
    )
    growth_day = largest.last_day_ms / smallest.last_day_ms
    print(f"last-24 h dashboard at {largest.size:,} / at {smallest.size:,}: {growth_day:.2f} x")
    print(
        f"naive / ours at {largest.size:,}: {speedup:.1f} x (target >= 100 x at 10 M: "
        f"{'met' if speedup >= 100 else 'NOT met'}"
        f"{'' if largest.size >= 10_000_000 else ', measured below 10 M'})"
    )


def parse_size(text: str) -> int:
    multipliers = {"k": 1_000, "m": 1_000_000}
    text = text.strip().lower()
    if text and text[-1] in multipliers:
        return int(float(text[:-1]) * multipliers[text[-1]])
    return int(text)


def parse_arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--sizes",
        type=lambda text: [parse_size(part) for part in text.split(",")],
        default=[10_000, 100_000, 1_000_000],
        help="comma-separated log counts, e.g. 10k,100k,1M,10M (default: 10k,100k,1M)",
    )
    parser.add_argument("--runs", type=int, default=7, help="timed runs per measurement")
    return parser.parse_args()


if __name__ == "__main__":
    main()
