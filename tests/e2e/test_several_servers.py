"""Several server processes on one database ingest at once: nothing lost, nothing counted
twice, and every server's dashboard agrees exactly with the raw rows."""

from __future__ import annotations

import time
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest

from tests.e2e.marked_traffic import (
    Outcomes,
    all_raw_logs,
    assert_dashboard_agrees,
    assert_stored_exactly,
    dashboard,
    send_batches,
)
from tests.e2e.server import RunningServer, serving

SENDERS = 6
BATCH_SIZE = 100
SEND_SECONDS = 3.0
# Three processes import the app one after the other (the parent migrates, then each worker
# starts): on a busy 2-core machine that takes well over a single server's start.
WORKERS_STARTUP_S = 180.0


def send_for_a_while(base_urls: list[str], api_key: str) -> Outcomes:
    deadline = time.monotonic() + SEND_SECONDS
    outcomes = send_batches(
        base_urls,
        [api_key],
        SENDERS,
        BATCH_SIZE,
        keep_going=lambda: time.monotonic() < deadline,
        stop_on_no_answer=False,
    )
    assert outcomes.statuses() == {}, "refused batches (status: count)"
    assert outcomes.unanswered.keys() == set()
    assert len(outcomes.acknowledged) >= SENDERS
    return outcomes


def wait_until_started(server: RunningServer, workers: int) -> None:
    """Until every worker has finished its start-up (/health answers once the first has)."""
    deadline = time.monotonic() + WORKERS_STARTUP_S
    while server.output().count("Application startup complete") < workers:
        if time.monotonic() > deadline:
            pytest.fail(f"not all {workers} workers started; the output:\n{server.output()}")
        time.sleep(0.2)


@pytest.mark.postgres
def test_two_server_processes_on_one_postgresql_store_each_log_once(
    postgres_url: str, tmp_path: Path
) -> None:
    with ExitStack() as servers:
        first = servers.enter_context(serving(postgres_url, tmp_path / "first.log"))
        second = servers.enter_context(serving(postgres_url, tmp_path / "second.log"))
        api_key = httpx.post(f"{first.base_url}/generate_key").json()["api_key"]

        outcomes = send_for_a_while([first.base_url, second.base_url], api_key)

        raw_logs = all_raw_logs(second.base_url, api_key)
        boards = [dashboard(server.base_url, api_key) for server in (first, second)]

    assert_stored_exactly(raw_logs, outcomes.acknowledged)
    assert boards[0] == boards[1]
    assert_dashboard_agrees(boards[0], raw_logs)


def test_serve_with_two_workers_stores_each_log_once(
    server_database_url: str, tmp_path: Path
) -> None:
    log_path = tmp_path / "server.log"
    with serving(
        server_database_url, log_path, "--workers", "2", startup_seconds=WORKERS_STARTUP_S
    ) as server:
        wait_until_started(server, workers=2)
        api_key = httpx.post(f"{server.base_url}/generate_key").json()["api_key"]

        outcomes = send_for_a_while([server.base_url], api_key)

        raw_logs = all_raw_logs(server.base_url, api_key)
        board = dashboard(server.base_url, api_key)

    assert_stored_exactly(raw_logs, outcomes.acknowledged)
    assert_dashboard_agrees(board, raw_logs)
