"""Does /dashboard cost the same over 10 M stored requests as over 10 k?

For each size: bulk-load synthetic traffic (bench/common.py: ~50 routes, Zipf-like routes and
IPs, ~5% errors, a month of timestamps) into a fresh SQLite file through the adapter's
`add_many` in 1000-log batches, start `analytics serve` on it, and time GET /dashboard over
HTTP for all time, for the data's last 24 hours (a whole day: rollups only) and for 24 hours
ending 17 minutes before the data's end (not on the hour: raw rows at both edges), median of
several runs after a warm-up. On the same file, time the naive approach, the seed's separate
GROUP BY queries over the raw table, with sqlite3 directly.

    uv run python bench/dashboard.py                          # 10k, 100k, 1M: ~4 min
    uv run python bench/dashboard.py --sizes 10k,100k,1M,10M  # 10M adds ~20 min of loading
    uv run python bench/dashboard.py --keep /tmp/dashboards   # keep (and reuse) the files

Targets (issue 4): time at the largest size <= 2 x time at 10k; >= 100 x faster than the
naive queries at 10 M. Not a test: prints a table and exits.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import sqlite3
import tempfile
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg
from common import (
    DATA_END,
    Database,
    RunningServer,
    TrafficModel,
    bulk_load,
    fresh_database_url,
    libpq_url,
    median_ms,
    prepared_database,
    print_table,
    serving,
    storage_kinds,
    upgraded,
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


@dataclasses.dataclass(frozen=True, slots=True)
class Timing:
    wall_ms: float  # median request time seen by the client
    cpu_ms: float  # the server's CPU time per request: little moved by other processes


@dataclasses.dataclass(frozen=True, slots=True)
class SizeResult:
    size: int
    load_s: float | None  # None: a kept database, not loaded in this run
    timings: dict[str, Timing]  # by RANGES name
    naive_ms: float
    peak_rss_mib: float


# 24 hours that start and end 17 minutes past an hour: the edges are raw rows.
_UNALIGNED_END = DATA_END - timedelta(minutes=17)
RANGES = {
    "all time": None,
    "last 24 h": (DATA_END - timedelta(days=1), DATA_END),
    "24 h off the hour": (_UNALIGNED_END - timedelta(days=1), _UNALIGNED_END),
}


def main() -> None:
    arguments = parse_arguments()
    with tempfile.TemporaryDirectory(prefix="analytics-bench-") as directory:
        for kind in storage_kinds():
            if arguments.only not in (None, kind):
                continue
            results = []
            for size in arguments.sizes:
                with database_for(kind, Path(directory), size, arguments.keep) as (database, fresh):
                    result = measure(database, fresh, size, arguments.runs)
                results.append(result)
                loaded = "kept" if result.load_s is None else f"loaded in {result.load_s:.1f} s"
                timings = ", ".join(
                    f"{name} {t.wall_ms:.1f} ms (server CPU {t.cpu_ms:.1f} ms)"
                    for name, t in result.timings.items()
                )
                print(
                    f"{kind}, {size:,} logs: {loaded}; dashboard {timings}; "
                    f"naive {result.naive_ms:.1f} ms",
                    flush=True,
                )
            print(f"\n{kind}:")
            report(results)


@contextlib.contextmanager
def database_for(
    kind: str, directory: Path, size: int, keep: Path | None
) -> Iterator[tuple[Database, bool]]:
    """A fresh database of `kind`, or with --keep a SQLite file kept from an earlier run
    (migrated to the newest schema); and whether it is fresh (still to be loaded)."""
    if keep is None or kind != "sqlite":
        with fresh_database_url(kind, directory, f"dashboard-{size}") as url:
            yield prepared_database(url), True
        return
    keep.mkdir(parents=True, exist_ok=True)
    path, sidecar = keep / f"dashboard-{size}.db", keep / f"dashboard-{size}.json"
    if sidecar.exists():
        yield upgraded(Database(**json.loads(sidecar.read_text()))), False
        return
    for leftover in keep.glob(f"{path.name}*"):  # a load that did not finish
        leftover.unlink()
    database = prepared_database(f"sqlite:///{path}")
    yield database, True
    sidecar.write_text(json.dumps(dataclasses.asdict(database)))  # only once it is loaded


def measure(database: Database, fresh: bool, size: int, runs: int) -> SizeResult:
    load_s = None
    if fresh:
        stored, load_s = bulk_load(database, TrafficModel().logs(size))
        assert stored == size, (stored, size)
    if not database.url.startswith("sqlite"):
        vacuum(database)
    with (
        serving(database.url) as server,
        httpx.Client(
            base_url=server.base_url, headers={"X-API-Key": database.api_key}, timeout=600
        ) as client,
    ):
        timings = {
            name: time_dashboard(server, client, range_params(bounds), runs)
            for name, bounds in RANGES.items()
        }
        peak_rss = server.peak_rss_mib()
    naive_ms = time_naive(database, max(1, runs // 2))
    return SizeResult(size, load_s, timings, naive_ms, peak_rss)


def range_params(bounds: tuple[datetime, datetime] | None) -> dict[str, str]:
    if bounds is None:
        return {}
    return {"start": bounds[0].isoformat(), "end": bounds[1].isoformat()}


def vacuum(database: Database) -> None:
    """What autovacuum does soon after a bulk load (docs/storage.md): table statistics for
    PostgreSQL's planner, and visibility maps, so index-only scans skip the heap."""
    with psycopg.connect(libpq_url(database.url), autocommit=True) as connection:
        connection.execute(
            "VACUUM (ANALYZE) request_logs, owner_spans, rollup_traffic, rollup_totals,"
            " rollup_latency, rollup_latency_coarse, rollup_ips"
        )


def time_dashboard(
    server: RunningServer, client: httpx.Client, params: dict[str, str], runs: int
) -> Timing:
    client.get("/dashboard", params=params).raise_for_status()  # warm-up: caches, pools
    durations = []
    cpu_before = server.cpu_ns()
    for _ in range(runs):
        began = time.perf_counter()
        response = client.get("/dashboard", params=params)
        durations.append(time.perf_counter() - began)
        response.raise_for_status()
    cpu_ms = (server.cpu_ns() - cpu_before) / runs / 1e6
    return Timing(median_ms(durations), cpu_ms)


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
            *(f"{name} ms (CPU)" for name in RANGES),
            "naive ms",
            "naive / ours",
            "server peak RSS MiB",
        ),
        [
            (
                f"{r.size:,}",
                "kept" if r.load_s is None else f"{r.load_s:.1f}",
                *(f"{t.wall_ms:.1f} ({t.cpu_ms:.1f})" for t in r.timings.values()),
                f"{r.naive_ms:.1f}",
                f"{r.naive_ms / r.timings['all time'].wall_ms:.1f} x",
                f"{r.peak_rss_mib:.0f}",
            )
            for r in results
        ],
    )
    smallest, largest = results[0], results[-1]
    print()
    for name in RANGES:
        small, large = smallest.timings[name], largest.timings[name]
        print(
            f"{name} at {largest.size:,} / at {smallest.size:,}: "
            f"{large.wall_ms / small.wall_ms:.2f} x request time, "
            f"{large.cpu_ms / small.cpu_ms:.2f} x server CPU (target <= 2 x)"
        )
    speedup = largest.naive_ms / largest.timings["all time"].wall_ms
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
    parser.add_argument(
        "--only", choices=("sqlite", "postgresql"), help="measure one database kind only"
    )
    parser.add_argument(
        "--keep",
        type=Path,
        help="keep the SQLite files in this directory and reuse them in later runs "
        "(loading is skipped for a size already there; its schema is upgraded)",
    )
    return parser.parse_args()


if __name__ == "__main__":
    main()
