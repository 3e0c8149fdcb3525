"""How fast does `analytics serve` take logs in, against what SQLite itself allows?

Starts `analytics serve` on a fresh SQLite file; N concurrent senders (threads, one httpx
client each) post 1000-log batches to /track/batch on 127.0.0.1 for a fixed time. Prints the
accepted logs per second, p50/p99 request latency and the server's peak RSS. Then, in the same
run, inserts the same rows with a plain sqlite3 `executemany` (one transaction per 1000 rows,
WAL, synchronous=NORMAL, the writer's cache size and checkpoint interval, like the server)
into a fresh file whose raw table and indexes are copied from the migrated database's own
DDL, and prints the ratio.

    uv run python bench/ingest.py                          # 8 senders for 20 s
    uv run python bench/ingest.py --senders 4 --duration 10

Target (issue 4): HTTP ingest >= 0.5 x the plain insert rate, with rollups on.
Not a test: prints its results and exits.
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import orjson
import psycopg
from common import (
    BATCH_SIZE,
    Database,
    TrafficModel,
    batches,
    fresh_database_url,
    libpq_url,
    prepared_database,
    serving,
    storage_kinds,
)

from analytics.adapters.sqlalchemy.engine import (
    SQLITE_WAL_AUTOCHECKPOINT_PAGES,
    SQLITE_WRITER_CACHE_KIB,
)
from analytics.domain.latency import latency_bucket
from analytics.domain.logs import RequestLog

DISTINCT_BATCHES = 40
RAW_TABLE = "request_logs"


@dataclass
class SenderTotals:
    accepted: int = 0
    failures: int = 0
    latencies_s: list[float] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def main() -> None:
    arguments = parse_arguments()
    # A day of traffic ending now, sent again and again: the server takes repeats as new logs.
    logs = list(
        TrafficModel().logs(DISTINCT_BATCHES * BATCH_SIZE, datetime.now(UTC), timedelta(days=1))
    )
    log_batches = list(batches(iter(logs)))
    bodies = [orjson.dumps({"logs": [_track_body(log) for log in batch]}) for batch in log_batches]
    with tempfile.TemporaryDirectory(prefix="analytics-bench-") as directory:
        for kind in storage_kinds():
            with fresh_database_url(kind, Path(directory), "ingest") as url:
                measure(kind, url, Path(directory), logs, bodies, arguments)


def measure(
    kind: str,
    url: str,
    directory: Path,
    logs: list[RequestLog],
    bodies: list[bytes],
    arguments: argparse.Namespace,
) -> None:
    database = prepared_database(url)
    totals, elapsed, server_cpu_s, peak_rss = send_for(
        database, bodies, arguments.senders, arguments.duration
    )
    http_rate = totals.accepted / elapsed
    plain_cpu_s_per_log = None
    rows = [_raw_row(database.owner_id, log) for log in logs]
    # As many rows as the server took (so the tables end up alike), at most as long.
    total = max(totals.accepted, len(rows))
    if kind == "sqlite":
        plain_rate, plain_cpu_s_per_log = plain_insert_rate(
            directory / "plain.db",
            raw_table_ddl(Path(url.removeprefix("sqlite:///"))),
            rows,
            total,
            arguments.duration,
        )
    else:
        plain_rate = plain_postgres_insert_rate(url, rows, total, arguments.duration)
    latencies = sorted(totals.latencies_s)
    print()
    print(
        f"{kind}: senders: {arguments.senders}, duration: {elapsed:.1f} s, batch: {BATCH_SIZE} logs"
    )
    print(
        f"HTTP ingest: {totals.accepted:,} logs accepted, {http_rate:,.0f} logs/s, "
        f"failed requests: {totals.failures}"
    )
    if latencies:
        print(
            f"request latency: p50 {statistics.median(latencies) * 1000:.1f} ms, "
            f"p99 {_quantile(latencies, 0.99) * 1000:.1f} ms ({len(latencies)} requests)"
        )
    print(f"server peak RSS: {peak_rss:.0f} MiB")
    print(f"plain {kind} executemany: {plain_rate:,.0f} logs/s")
    server_ms = server_cpu_s / max(totals.accepted, 1) * BATCH_SIZE * 1000
    print(f"server CPU per {BATCH_SIZE} logs: {server_ms:.1f} ms (all its threads)")
    if plain_cpu_s_per_log is not None:
        plain_ms = plain_cpu_s_per_log * BATCH_SIZE * 1000
        print(
            f"plain executemany CPU per {BATCH_SIZE} logs: {plain_ms:.1f} ms; plain / server CPU: "
            f"{plain_ms / server_ms:.3f} (the ratio if nothing else needed the CPUs)"
        )
    ratio = http_rate / plain_rate
    print(f"HTTP / plain: {ratio:.2f} (target >= 0.5: {'met' if ratio >= 0.5 else 'NOT met'})")


def send_for(
    database: Database, bodies: list[bytes], senders: int, duration_s: float
) -> tuple[SenderTotals, float, float, float]:
    """Post `bodies` round-robin from `senders` threads for `duration_s`: totals, seconds,
    the server's CPU seconds meanwhile, and its peak RSS."""
    totals = SenderTotals()
    with serving(database.url) as server:
        deadline = time.monotonic() + duration_s
        threads = [
            threading.Thread(
                target=_send,
                args=(
                    server.base_url,
                    database.api_key,
                    bodies[index:] + bodies[:index],
                    deadline,
                    totals,
                ),
            )
            for index in range(senders)
        ]
        began, cpu_before = time.perf_counter(), server.cpu_ns()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - began
        cpu_s = (server.cpu_ns() - cpu_before) / 1e9
        peak_rss = server.peak_rss_mib()
    return totals, elapsed, cpu_s, peak_rss


def _send(
    base_url: str, api_key: str, bodies: list[bytes], deadline: float, totals: SenderTotals
) -> None:
    headers = {"X-API-Key": api_key, "Content-Type": "application/json"}
    with httpx.Client(base_url=base_url, headers=headers, timeout=60) as client:
        index = 0
        while time.monotonic() < deadline:
            began = time.perf_counter()
            response = client.post("/track/batch", content=bodies[index % len(bodies)])
            took = time.perf_counter() - began
            index += 1
            with totals.lock:
                totals.latencies_s.append(took)
                if response.status_code == 202:
                    totals.accepted += response.json()["accepted"]
                else:
                    totals.failures += 1


def raw_table_ddl(migrated: Path) -> list[str]:
    """The raw table's CREATE TABLE and CREATE INDEX statements, as migrations made them."""
    connection = sqlite3.connect(migrated)
    try:
        found = connection.execute(
            "SELECT sql FROM sqlite_master WHERE tbl_name = ? AND sql IS NOT NULL"
            " ORDER BY type = 'index'",
            (RAW_TABLE,),
        ).fetchall()
    finally:
        connection.close()
    return [sql for (sql,) in found]


def plain_insert_rate(
    path: Path, ddl: list[str], rows: list[dict[str, object]], total: int, max_s: float
) -> tuple[float, float]:
    """Logs/s of plain executemany, 1000 rows per transaction, until `total` rows or `max_s`;
    and the CPU seconds it took per log."""
    connection = sqlite3.connect(path, isolation_level=None)
    try:
        # The server's writer settings.
        connection.execute("PRAGMA journal_mode = WAL")
        connection.execute("PRAGMA synchronous = NORMAL")
        connection.execute(f"PRAGMA cache_size = -{SQLITE_WRITER_CACHE_KIB}")
        connection.execute(f"PRAGMA wal_autocheckpoint = {SQLITE_WAL_AUTOCHECKPOINT_PAGES}")
        for statement in ddl:
            connection.execute(statement)
        columns = [
            name
            for _, name, *_ in connection.execute(f"PRAGMA table_info({RAW_TABLE})")
            if name != "id"
        ]
        sql = (
            f"INSERT INTO {RAW_TABLE} ({', '.join(columns)}) "
            f"VALUES ({', '.join('?' * len(columns))})"
        )
        tuples = [tuple(row[name] for name in columns) for row in rows]
        chunks = [tuples[i : i + BATCH_SIZE] for i in range(0, len(tuples), BATCH_SIZE)]
        inserted = 0
        began, cpu_before = time.perf_counter(), time.thread_time()
        while inserted < total and time.perf_counter() - began < max_s:
            chunk = chunks[(inserted // BATCH_SIZE) % len(chunks)]
            connection.execute("BEGIN IMMEDIATE")
            connection.executemany(sql, chunk)
            connection.execute("COMMIT")
            inserted += len(chunk)
        elapsed = time.perf_counter() - began
        cpu_s = time.thread_time() - cpu_before
    finally:
        connection.close()
    return inserted / elapsed, cpu_s / inserted


def plain_postgres_insert_rate(
    url: str, rows: list[dict[str, object]], total: int, max_s: float
) -> float:
    """Like `plain_insert_rate`, into a copy of the raw table (LIKE ... INCLUDING ALL: the
    same columns, defaults and indexes) in the benchmark's own schema."""
    with psycopg.connect(libpq_url(url)) as connection:
        connection.execute(f"CREATE TABLE plain_logs (LIKE {RAW_TABLE} INCLUDING ALL)")
        connection.commit()
        columns = list(rows[0])
        sql = (
            f"INSERT INTO plain_logs ({', '.join(columns)}) "
            f"VALUES ({', '.join(['%s'] * len(columns))})"
        )
        tuples = [tuple(row[name] for name in columns) for row in rows]
        chunks = [tuples[i : i + BATCH_SIZE] for i in range(0, len(tuples), BATCH_SIZE)]
        inserted = 0
        began = time.perf_counter()
        while inserted < total and time.perf_counter() - began < max_s:
            chunk = chunks[(inserted // BATCH_SIZE) % len(chunks)]
            with connection.cursor() as cursor:
                cursor.executemany(sql, chunk)
            connection.commit()
            inserted += len(chunk)
        elapsed = time.perf_counter() - began
    return inserted / elapsed


def _track_body(log: RequestLog) -> dict[str, object]:
    return {
        "created_at": log.created_at.isoformat(),
        "method": log.method,
        "endpoint": log.endpoint,
        "ip": log.ip,
        "process_time": log.process_time_us / 1000,
        "status_code": log.status_code,
        "path": log.path,
        "user_agent": log.user_agent,
    }


def _raw_row(owner_id: str, log: RequestLog) -> dict[str, object]:
    return {
        "owner_id": owner_id,
        "created_us": int(log.created_at.timestamp() * 1_000_000),
        "method": log.method,
        "endpoint": log.endpoint,
        "ip": log.ip,
        "status_code": log.status_code,
        "process_time_us": log.process_time_us,
        "latency_bucket": latency_bucket(log.process_time_us),
        "path": log.path,
        "user_agent": log.user_agent,
        "consumer": log.consumer,
    }


def _quantile(ordered: list[float], quantile: float) -> float:
    return ordered[min(len(ordered) - 1, int(quantile * len(ordered)))]


def parse_arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--senders", type=int, default=8, help="concurrent senders (default 8)")
    parser.add_argument(
        "--duration", type=float, default=20, help="seconds of sending (default 20)"
    )
    return parser.parse_args()


if __name__ == "__main__":
    main()
