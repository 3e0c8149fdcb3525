"""Does `analytics serve` stay correct under load? 50 senders for 60 s, then count.

Starts `analytics serve` (default settings: rate limits on) on a fresh SQLite file, then on a
fresh PostgreSQL schema when ANALYTICS_BENCH_POSTGRES_URL is set. `--senders` concurrent
senders (asyncio, one connection each, one API key each: 50 tracked apps) post batches of
`--batch-size` logs to /track/batch on 127.0.0.1 for `--duration` seconds, as the client
middleware does (each batch with its own batch_id). Every log carries a unique path and its
batch's name as consumer, so afterwards the raw table tells exactly which batches went in.

Prints: requests and logs per second, p50/p99 request latency, answers by kind (2xx, 429,
other 4xx, 5xx, no answer), the server's peak RSS, and the checks: zero 5xx, every
acknowledged batch stored exactly once and whole, nothing else stored, and the dashboards'
total (rollups, over HTTP) equal to the acknowledged count. Exits 1 if a check fails.

    uv run python bench/load.py                              # 50 senders, 60 s, SQLite
    uv run python bench/load.py --senders 20 --duration 10   # a quick run
    ANALYTICS_BENCH_POSTGRES_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test \\
        uv run python bench/load.py                          # SQLite, then PostgreSQL

Not a test: prints its results and exits.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import orjson
import sqlalchemy as sa
from common import TrafficModel, fresh_database_url, serving, storage_kinds
from ingest import _quantile, _track_body

from analytics.adapters.sqlalchemy import (
    SqlAlchemyKeyRepository,
    create_database_engine,
    upgrade_schema,
)
from analytics.adapters.system import Sha256KeyHasher, SystemClock
from analytics.application.keys import GenerateKey

TEMPLATE_LOGS = 5000


@dataclass
class Tally:
    """What the senders saw, and which batches the server acknowledged."""

    answers: Counter[str] = field(default_factory=Counter)
    latencies_s: list[float] = field(default_factory=list)
    # batch name -> how many logs it holds, for every batch answered 202.
    acknowledged: dict[str, int] = field(default_factory=dict)
    first_failures: list[str] = field(default_factory=list)

    def record(self, name: str, size: int, status: int | None, text: str, took: float) -> None:
        self.latencies_s.append(took)
        kind = _kind(status)
        self.answers[kind] += 1
        if status == 202:
            self.acknowledged[name] = size
        elif kind != "429" and len(self.first_failures) < 5:
            self.first_failures.append(f"{status}: {text[:200]}")


def _kind(status: int | None) -> str:
    if status is None:
        return "no answer"
    if 200 <= status < 300:
        return "2xx"
    if status == 429:
        return "429"
    return "4xx other" if status < 500 else "5xx"


def main() -> int:
    arguments = parse_arguments()
    templates = [
        _track_body(log)
        for log in TrafficModel().logs(TEMPLATE_LOGS, datetime.now(UTC), timedelta(hours=6))
    ]
    failed = False
    with tempfile.TemporaryDirectory(prefix="analytics-load-") as directory:
        for kind in storage_kinds():
            with fresh_database_url(kind, Path(directory), "load") as url:
                failed |= not run(kind, url, templates, arguments)
    return 1 if failed else 0


def run(kind: str, url: str, templates: list[dict], arguments: argparse.Namespace) -> bool:
    keys = issued_keys(url, arguments.senders)
    with serving(url, workers=arguments.workers) as server:
        began, cpu_before = time.perf_counter(), server_cpu_s(server.process.pid)
        tally = asyncio.run(
            send_all(server.base_url, keys, templates, arguments.batch_size, arguments.duration)
        )
        elapsed = time.perf_counter() - began
        cpu_s = server_cpu_s(server.process.pid) - cpu_before
        peak_rss = server.peak_rss_mib()
        dashboard_total = sum(dashboard_total_requests(server.base_url, key) for key in keys)
    stored = stored_per_batch(url)
    report(kind, arguments, tally, elapsed, cpu_s, peak_rss)
    return check(tally, stored, dashboard_total)


def issued_keys(url: str, count: int) -> list[str]:
    """Migrate the database and issue `count` full keys (the GenerateKey use case)."""
    engine = create_database_engine(url)
    try:
        upgrade_schema(engine)
        generate = GenerateKey(SqlAlchemyKeyRepository(engine), Sha256KeyHasher(), SystemClock())
        return [generate.execute().api_key for _ in range(count)]
    finally:
        engine.dispose()


async def send_all(
    base_url: str, keys: list[str], templates: list[dict], batch_size: int, duration_s: float
) -> Tally:
    tally = Tally()
    deadline = time.monotonic() + duration_s
    senders = [
        _send(base_url, sender, key, templates, batch_size, deadline, tally)
        for sender, key in enumerate(keys)
    ]
    await asyncio.gather(*senders)
    return tally


async def _send(
    base_url: str,
    sender: int,
    api_key: str,
    templates: list[dict],
    batch_size: int,
    deadline: float,
    tally: Tally,
) -> None:
    headers = {"X-API-Key": api_key, "Content-Type": "application/json"}
    limits = httpx.Limits(max_connections=1)
    generator = random.Random(sender)
    async with httpx.AsyncClient(
        base_url=base_url, headers=headers, timeout=60, limits=limits
    ) as client:
        number = 0
        while time.monotonic() < deadline:
            name = f"s{sender}-b{number}"
            first = generator.randrange(len(templates) - batch_size)
            logs = [
                {**template, "path": f"/{name}/{index}", "consumer": name}
                for index, template in enumerate(templates[first : first + batch_size])
            ]
            body = orjson.dumps({"logs": logs, "batch_id": str(uuid.uuid4())})
            began = time.perf_counter()
            try:
                response = await client.post("/track/batch", content=body)
                status, text = response.status_code, response.text
            except httpx.TransportError as error:
                status, text = None, repr(error)
            tally.record(name, len(logs), status, text, time.perf_counter() - began)
            if status == 429:
                retry_after = float(response.headers.get("Retry-After", "1"))
                await asyncio.sleep(min(retry_after, max(deadline - time.monotonic(), 0)))
            number += 1


def dashboard_total_requests(base_url: str, api_key: str) -> int:
    response = httpx.get(f"{base_url}/dashboard", headers={"X-API-Key": api_key}, timeout=120)
    response.raise_for_status()
    return int(response.json()["summary"]["total_requests"])


def stored_per_batch(url: str) -> dict[str, tuple[int, int]]:
    """Batch name -> (stored rows, distinct paths), straight from the raw table."""
    engine = create_database_engine(url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                sa.text(
                    "SELECT consumer, count(*), count(DISTINCT path) FROM request_logs"
                    " GROUP BY consumer"
                )
            ).all()
    finally:
        engine.dispose()
    return {consumer: (count, distinct) for consumer, count, distinct in rows}


def server_cpu_s(pid: int) -> float:
    """CPU seconds (user + system) the process has used: on a shared machine, logs per
    CPU-second say more about the server than logs per second."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def report(
    kind: str,
    arguments: argparse.Namespace,
    tally: Tally,
    elapsed: float,
    cpu_s: float,
    peak_rss: float,
) -> None:
    requests = sum(tally.answers.values())
    logs = sum(tally.acknowledged.values())
    latencies = sorted(tally.latencies_s)
    print()
    print(
        f"{kind}: {arguments.senders} senders, {elapsed:.1f} s, {arguments.batch_size}-log "
        f"batches, {arguments.workers} worker(s)"
    )
    print(
        f"throughput: {requests / elapsed:,.0f} requests/s, {logs / elapsed:,.0f} logs/s "
        f"acknowledged ({logs:,} logs in {len(tally.acknowledged):,} batches)"
    )
    print(f"server CPU: {cpu_s:.1f} s, {logs / max(cpu_s, 1e-9):,.0f} logs per CPU-second")
    if latencies:
        print(
            f"ingest latency: p50 {_quantile(latencies, 0.5) * 1000:.1f} ms, "
            f"p99 {_quantile(latencies, 0.99) * 1000:.1f} ms, "
            f"max {latencies[-1] * 1000:.1f} ms"
        )
    answers = ", ".join(
        f"{kind} {tally.answers[kind]}" for kind in ("2xx", "429", "4xx other", "5xx", "no answer")
    )
    print(f"answers: {answers}")
    for failure in tally.first_failures:
        print(f"  e.g. {failure}")
    print(f"server peak RSS: {peak_rss:.0f} MiB")


def check(tally: Tally, stored: dict[str, tuple[int, int]], dashboard_total: int) -> bool:
    acknowledged_logs = sum(tally.acknowledged.values())
    stored_logs = sum(count for count, _ in stored.values())
    lost = [name for name in tally.acknowledged if name not in stored]
    extra = [name for name in stored if name not in tally.acknowledged]
    wrong = [
        name
        for name, size in tally.acknowledged.items()
        if name in stored and stored[name] != (size, size)
    ]
    checks = {
        "zero 5xx": tally.answers["5xx"] == 0,
        "every request answered": tally.answers["no answer"] == 0,
        f"acknowledged batches all stored ({len(lost)} lost)": not lost,
        f"each stored exactly once, whole ({len(wrong)} not)": not wrong,
        f"nothing unacknowledged stored ({len(extra)} batches)": not extra,
        f"raw rows {stored_logs:,} == acknowledged {acknowledged_logs:,}": (
            stored_logs == acknowledged_logs
        ),
        f"dashboard total {dashboard_total:,} == acknowledged {acknowledged_logs:,}": (
            dashboard_total == acknowledged_logs
        ),
    }
    for name, passed in checks.items():
        print(f"  [{'ok' if passed else 'FAILED'}] {name}")
    return all(checks.values())


def parse_arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--senders", type=int, default=50, help="concurrent senders (50)")
    parser.add_argument("--duration", type=float, default=60, help="seconds of sending (60)")
    parser.add_argument("--batch-size", type=int, default=100, help="logs per batch (100)")
    parser.add_argument("--workers", type=int, default=1, help="server processes (1)")
    return parser.parse_args()


if __name__ == "__main__":
    sys.exit(main())
