"""What both server benchmarks share: synthetic traffic, a fresh database with a key, and
`analytics serve` as a subprocess on 127.0.0.1 whose peak memory can be read."""

from __future__ import annotations

import contextlib
import itertools
import math
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import psycopg

from analytics.adapters.sqlalchemy import (
    SqlAlchemyKeyRepository,
    SqlAlchemyLogRepository,
    create_database_engine,
    upgrade_schema,
)
from analytics.adapters.system import Sha256KeyHasher, SystemClock
from analytics.application.keys import GenerateKey
from analytics.domain.logs import RequestLog

BATCH_SIZE = 1000
POSTGRES_VARIABLE = "ANALYTICS_BENCH_POSTGRES_URL"
# The data ends at a fixed moment, so the same seed gives the same database every run.
DATA_END = datetime(2026, 11, 1, tzinfo=UTC)
DATA_SPAN = timedelta(days=30)

_RESOURCES = ("users", "orders", "items", "invoices", "teams", "projects", "reports", "tags")
_SUFFIXES = ("", "/{id}", "/{id}/history", "/{id}/comments", "/search", "/export")
# 48 resource routes plus two: ~50 route templates.
ROUTE_TEMPLATES: tuple[str, ...] = (
    *(f"/api/v1/{r}{s}" for s in _SUFFIXES for r in _RESOURCES),
    "/health",
    "/login",
)
_METHODS = ("GET", "POST", "PUT", "DELETE", "PATCH")
_METHOD_WEIGHTS = (70, 15, 7, 5, 3)
_OK_STATUSES = (200, 200, 200, 201, 204, 304)
_ERROR_STATUSES = (400, 401, 403, 404, 404, 422, 429, 500, 502, 503)
ERROR_SHARE = 0.05
IP_POOL = 20_000


def zipf_cumulative_weights(count: int, exponent: float = 1.1) -> list[float]:
    """Cumulative weights of rank k ∝ 1/k^exponent: a few hot items, a long tail."""
    return list(itertools.accumulate(1 / (rank**exponent) for rank in range(1, count + 1)))


@dataclass(frozen=True, slots=True)
class TrafficModel:
    """Realistic traffic: Zipf-like routes and client IPs, ~5% errors, lognormal latency."""

    seed: int = 2024

    def logs(
        self, count: int, end: datetime = DATA_END, span: timedelta = DATA_SPAN
    ) -> Iterator[RequestLog]:
        """`count` logs in time order over `span` ending at `end`."""
        generator = random.Random(self.seed)
        routes = zipf_cumulative_weights(len(ROUTE_TEMPLATES))
        ips = [_ip(index) for index in range(IP_POOL)]
        ip_weights = zipf_cumulative_weights(IP_POOL, 0.9)
        start_us = int((end - span).timestamp() * 1_000_000)
        step_us = span / timedelta(microseconds=1) / max(count, 1)
        for index in range(count):
            moment = start_us + int(index * step_us + generator.random() * step_us)
            route = generator.choices(ROUTE_TEMPLATES, cum_weights=routes)[0]
            failed = generator.random() < ERROR_SHARE
            status = generator.choice(_ERROR_STATUSES if failed else _OK_STATUSES)
            # Median ~20 ms with a long tail, capped at a minute.
            latency_us = min(int(generator.lognormvariate(math.log(20_000), 1.0)), 60_000_000)
            yield RequestLog(
                created_at=datetime.fromtimestamp(moment / 1_000_000, UTC),
                method=generator.choices(_METHODS, weights=_METHOD_WEIGHTS)[0],
                endpoint=route,
                ip=generator.choices(ips, cum_weights=ip_weights)[0],
                process_time_us=max(latency_us, 1),
                status_code=status,
                path=route.replace("{id}", str(generator.randrange(1, 10_000))),
                user_agent="bench-client/1.0",
            )


def _ip(index: int) -> str:
    return f"10.{(index >> 16) & 255}.{(index >> 8) & 255}.{index & 255}"


def batches(logs: Iterator[RequestLog], size: int = BATCH_SIZE) -> Iterator[list[RequestLog]]:
    while batch := list(itertools.islice(logs, size)):
        yield batch


@dataclass(frozen=True, slots=True)
class Database:
    url: str
    api_key: str
    owner_id: str


def prepared_database(url: str) -> Database:
    """Migrate the database at `url` and issue a key there (the GenerateKey use case)."""
    engine = create_database_engine(url)
    try:
        upgrade_schema(engine)
        issued = GenerateKey(
            SqlAlchemyKeyRepository(engine), Sha256KeyHasher(), SystemClock()
        ).execute()
    finally:
        engine.dispose()
    # A full key owns its own logs: its owner id is its key id.
    return Database(url=url, api_key=issued.api_key, owner_id=issued.key_id)


def upgraded(database: Database) -> Database:
    """`database`, its schema migrated to the newest revision (a kept database)."""
    engine = create_database_engine(database.url)
    try:
        upgrade_schema(engine)
    finally:
        engine.dispose()
    return database


def bulk_load(database: Database, logs: Iterator[RequestLog]) -> tuple[int, float]:
    """Store `logs` through the adapter's bulk path in 1000-log batches: (count, seconds)."""
    engine = create_database_engine(database.url)
    repository = SqlAlchemyLogRepository(engine)
    stored = 0
    elapsed = 0.0
    try:
        for batch in batches(logs):
            began = time.perf_counter()
            stored += repository.add_many(database.owner_id, batch)
            elapsed += time.perf_counter() - began
    finally:
        engine.dispose()
    return stored, elapsed


@contextlib.contextmanager
def fresh_database_url(kind: str, directory: Path, name: str) -> Iterator[str]:
    """An empty database: a new SQLite file in `directory`, or a new schema in the
    PostgreSQL at $ANALYTICS_BENCH_POSTGRES_URL (dropped afterwards)."""
    if kind == "sqlite":
        path = directory / f"{name}.db"
        try:
            yield f"sqlite:///{path}"
        finally:
            for leftover in directory.glob(f"{name}.db*"):
                leftover.unlink()
        return
    base = os.environ[POSTGRES_VARIABLE]
    schema = f"bench_{name}_{os.getpid()}".replace("-", "_").lower()
    with psycopg.connect(libpq_url(base), autocommit=True) as admin:
        admin.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        admin.execute(f'CREATE SCHEMA "{schema}"')
    separator = "&" if "?" in base else "?"
    try:
        # Every connection, the server's included, finds only this schema's tables.
        yield f"{base}{separator}options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(libpq_url(base), autocommit=True) as admin:
            admin.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def libpq_url(url: str) -> str:
    """The SQLAlchemy URL's libpq form (without the `+psycopg` driver name)."""
    scheme, _, rest = url.partition("://")
    return f"postgresql://{rest}" if scheme.startswith("postgres") else url


def storage_kinds() -> list[str]:
    """SQLite always; PostgreSQL too when $ANALYTICS_BENCH_POSTGRES_URL names one."""
    return ["sqlite", "postgresql"] if os.environ.get(POSTGRES_VARIABLE) else ["sqlite"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass(frozen=True, slots=True)
class RunningServer:
    process: subprocess.Popen[bytes]
    base_url: str

    def cpu_ns(self) -> int:
        """CPU time the server process has used so far, all its threads, in nanoseconds
        (schedstat's first field: time on a CPU, not time waiting for one)."""
        tasks = Path(f"/proc/{self.process.pid}/task").glob("*/schedstat")
        return sum(int(task.read_text().split()[0]) for task in tasks)

    def peak_rss_mib(self) -> float:
        """The server process's peak resident memory (VmHWM), in MiB."""
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        for line in status.splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        return float("nan")


@contextlib.contextmanager
def serving(database_url: str, workers: int = 1) -> Iterator[RunningServer]:
    """`analytics serve` on a free loopback port; stopped (SIGTERM, then SIGKILL) on exit.

    With one worker uvicorn serves in the process it was started in, so that pid's memory
    is the server's.
    """
    port = free_port()
    command = [
        str(Path(sys.executable).with_name("analytics")),
        "serve",
        "--host", "127.0.0.1",
        "--port", str(port),
        "--workers", str(workers),
        "--database-url", database_url,
        "--log-level", "warning",
    ]  # fmt: skip
    process = subprocess.Popen(command, env={**os.environ, "ANALYTICS_DATABASE_URL": database_url})
    server = RunningServer(process, f"http://127.0.0.1:{port}")
    try:
        _wait_until_up(server)
        yield server
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_until_up(server: RunningServer, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"analytics serve exited with {server.process.returncode}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{server.base_url}/health", timeout=2).status_code == 200:
                return
        time.sleep(0.1)
    raise RuntimeError("analytics serve did not answer /health in time")


def median_ms(durations_s: Sequence[float]) -> float:
    return statistics.median(durations_s) * 1000


def print_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    """A Markdown table, so the output pastes straight into docs/benchmarks.md."""
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    print("| " + " | ".join(h.rjust(w) for h, w in zip(headers, widths, strict=True)) + " |")
    print("|" + "|".join("-" * (w + 1) + ":" for w in widths) + "|")
    for row in rows:
        print("| " + " | ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)) + " |")
