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
from tests.e2e.server import serving

SENDERS = 6
BATCH_SIZE = 100
SEND_SECONDS = 3.0


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
    with serving(server_database_url, tmp_path / "server.log", "--workers", "2") as server:
        api_key = httpx.post(f"{server.base_url}/generate_key").json()["api_key"]

        outcomes = send_for_a_while([server.base_url], api_key)

        raw_logs = all_raw_logs(server.base_url, api_key)
        board = dashboard(server.base_url, api_key)
        output = server.output()

    assert output.count("Started server process") == 2, output
    assert_stored_exactly(raw_logs, outcomes.acknowledged)
    assert_dashboard_agrees(board, raw_logs)
