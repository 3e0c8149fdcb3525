"""A 2xx means committed: `analytics serve` killed with SIGKILL in the middle of concurrent
ingest, restarted on the same storage, holds every acknowledged log exactly once, each batch
it did not acknowledge wholly or not at all, and dashboards that agree with the raw rows.
The client's retries of the unacknowledged batches (same batch id) then complete the data,
each log once."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import httpx

from tests.e2e.marked_traffic import (
    Outcomes,
    all_raw_logs,
    assert_dashboard_agrees,
    assert_stored_exactly,
    dashboard,
    resend,
    send_batches,
    stored_batches,
)
from tests.e2e.server import RunningServer, serving

SENDERS = 6
BATCH_SIZE = 200
# Kill once this many batches are acknowledged (or after KILL_AFTER_S, whichever comes first).
ACKNOWLEDGED_BEFORE_KILL = 24
KILL_AFTER_S = 15.0


def ingest_until_killed(server: RunningServer, api_key: str) -> Outcomes:
    """Senders post batches until the server dies under them, killed by a timer thread."""
    outcomes = Outcomes()

    def kill_when_enough() -> None:
        deadline = time.monotonic() + KILL_AFTER_S
        while time.monotonic() < deadline:
            if len(outcomes.acknowledged) >= ACKNOWLEDGED_BEFORE_KILL:
                break
            time.sleep(0.01)
        server.process.kill()
        server.process.wait(timeout=10)

    killer = threading.Thread(target=kill_when_enough)
    killer.start()
    try:
        send_batches(
            [server.base_url],
            [api_key],
            SENDERS,
            BATCH_SIZE,
            keep_going=lambda: True,
            stop_on_no_answer=True,
            outcomes=outcomes,
        )
    finally:
        killer.join(timeout=30)
    return outcomes


def assert_nothing_lost_and_batches_whole(outcomes: Outcomes, raw_logs: list[dict]) -> None:
    assert outcomes.statuses() == {}, "refused batches (status: count)"
    assert len(outcomes.acknowledged) >= 1
    # The kill caught requests in flight: the test tried what its name says.
    assert outcomes.cut_off, "no request was in flight when the server was killed"
    stored = stored_batches(raw_logs)
    assert {name: n for name, n in stored.items() if n != BATCH_SIZE} == {}, "stored in part"
    assert outcomes.acknowledged.keys() - stored.keys() == set(), "acknowledged, then lost"
    sent = outcomes.sent()
    assert stored.keys() - sent.keys() == set()
    assert_stored_exactly(raw_logs, {name: sent[name] for name in stored})


def test_after_sigkill_acknowledged_logs_are_stored_once_and_retries_complete_them(
    server_database_url: str, tmp_path: Path
) -> None:
    with serving(server_database_url, tmp_path / "first.log") as first:
        api_key = httpx.post(f"{first.base_url}/generate_key").json()["api_key"]
        outcomes = ingest_until_killed(first, api_key)
    assert first.process.returncode == -9

    with serving(server_database_url, tmp_path / "second.log") as second:
        after_crash = all_raw_logs(second.base_url, api_key)
        board_after_crash = dashboard(second.base_url, api_key)
        retries = resend(second.base_url, api_key, list(outcomes.unanswered.values()))
        after_retries = all_raw_logs(second.base_url, api_key)
        board_after_retries = dashboard(second.base_url, api_key)

    assert_nothing_lost_and_batches_whole(outcomes, after_crash)
    assert_dashboard_agrees(board_after_crash, after_crash)
    # Every retry is acknowledged; one whose batch went in before the kill is not stored again.
    assert retries.acknowledged.keys() == outcomes.unanswered.keys()
    assert_stored_exactly(after_retries, outcomes.sent())
    assert_dashboard_agrees(board_after_retries, after_retries)
