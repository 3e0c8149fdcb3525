"""How much CPU does the server spend turning a /track/batch body into the rows it inserts?

In process, no HTTP, no database: the very bodies bench/ingest.py sends (a day of synthetic
traffic in 1000-log batches), each put through the three stages the server runs, in one
thread: parse and validate the body (`TRACK_BATCH_BODY.validate_json`), turn it into
`RequestLog`s (`request_logs`), and those into the raw-row tuples the SQL adapter inserts
(`log_values`). Prints each stage's CPU time per 1000-log batch (the median over all batches
and rounds, from `time.thread_time`, which other load moves far less than wall-clock time).

    uv run python bench/parse.py                  # 40 batches, 5 rounds
    uv run python bench/parse.py --naive-times    # created_at without offset, as the seed sent
    uv run python bench/parse.py --profile        # and the top functions under cProfile

    # Another tree (e.g. an older commit's `src`, unpacked with `git archive`):
    PYTHONPATH=/tmp/old/src uv run python bench/parse.py

Not a test: prints its results and exits.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from common import BATCH_SIZE, TrafficModel, batches
from ingest import DISTINCT_BATCHES, _track_body

import analytics
from analytics.adapters.sqlalchemy.mapping import log_values
from analytics.domain.logs import RequestLog
from analytics.entrypoints.http.schemas.logs import TRACK_BATCH_BODY, request_logs

OWNER_ID = "0123456789ab"


def main() -> None:
    arguments = parse_arguments()
    logs = TrafficModel().logs(DISTINCT_BATCHES * BATCH_SIZE, datetime.now(UTC), timedelta(days=1))
    bodies = [
        orjson.dumps({"logs": [_body(log, arguments.naive_times) for log in batch]})
        for batch in batches(logs)
    ]
    parsed = [TRACK_BATCH_BODY.validate_json(body) for body in bodies]
    logs_of_batches = [request_logs(batch["logs"]) for batch in parsed]
    stages: list[tuple[str, Callable[[Any], object], list[Any]]] = [
        ("parse and validate the body", TRACK_BATCH_BODY.validate_json, bodies),
        ("to RequestLogs", _request_logs, parsed),
        ("to row tuples", _rows, logs_of_batches),
        ("all three", _body_to_rows, bodies),
    ]
    print(f"analytics from {analytics.__path__[0]}")
    print(f"{len(bodies)} bodies of {BATCH_SIZE} logs, {len(bodies[0]) // 1024} KiB each")
    for name, stage, inputs in stages:
        print(f"{name:<30} {_median_cpu_ms(stage, inputs, arguments.rounds):6.2f} ms per batch")
    if arguments.profile:
        _profile(bodies)


def _body(log: RequestLog, naive_time: bool) -> dict[str, object]:
    body = _track_body(log)
    if naive_time:
        body["created_at"] = log.created_at.replace(tzinfo=None).isoformat()
    return body


def _rows(logs: list[Any]) -> list[tuple[Any, ...]]:
    return [log_values(OWNER_ID, log) for log in logs]


def _request_logs(batch: dict[str, Any]) -> list[Any]:
    return request_logs(batch["logs"])


def _body_to_rows(body: bytes) -> list[tuple[Any, ...]]:
    return _rows(_request_logs(TRACK_BATCH_BODY.validate_json(body)))


def _median_cpu_ms(stage: Callable[[Any], object], inputs: list[Any], rounds: int) -> float:
    took_ns = []
    for _ in range(rounds):
        for item in inputs:
            began = time.thread_time_ns()
            stage(item)
            took_ns.append(time.thread_time_ns() - began)
    return statistics.median(took_ns) / 1e6


def _profile(bodies: list[bytes]) -> None:
    profile = cProfile.Profile()
    profile.enable()
    for body in bodies:
        _body_to_rows(body)
    profile.disable()
    pstats.Stats(profile).sort_stats("tottime").print_stats(15)


def parse_arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5, help="passes over the bodies (default 5)")
    parser.add_argument(
        "--naive-times", action="store_true", help="send created_at without a UTC offset"
    )
    parser.add_argument("--profile", action="store_true", help="also print a cProfile")
    return parser.parse_args()


if __name__ == "__main__":
    main()
