"""Batches whose every log carries a unique marker, sent concurrently to real servers, and the
checks that what the servers stored is exactly what they acknowledged.

Each log's `path` is unique (`/<batch>/<index>`) and its `consumer` names its batch, so the
stored rows tell which batches went in, whole or in part, and whether any went in twice.
"""

from __future__ import annotations

import itertools
import threading
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

# Over several hours, so the dashboard reads hour rollups and sub-hour edges alike.
FIRST_MOMENT = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
ENDPOINTS = ("/orders", "/orders/{order_id}", "/users/{user_id}", "/health", "/login")
METHODS = ("GET", "POST", "DELETE", "GET")
STATUS_CODES = (200, 201, 204, 404, 200, 500, 200, 422)
PAGE = 1000


@dataclass(frozen=True)
class Batch:
    name: str
    logs: list[dict[str, Any]]
    # As the client middleware does: a retry of the batch sends the same id.
    batch_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    def body(self) -> dict[str, Any]:
        return {"logs": self.logs, "batch_id": self.batch_id}


def marked_batch(sender: int, number: int, size: int) -> Batch:
    """`size` logs, each with a unique path, all with the batch's name as consumer."""
    name = f"s{sender}-b{number}"
    logs = []
    for index in range(size):
        seed = sender * 7919 + number * 104_729 + index
        logs.append(
            {
                "created_at": (FIRST_MOMENT + timedelta(seconds=seed % 20_000)).isoformat(),
                "method": METHODS[seed % len(METHODS)],
                "endpoint": ENDPOINTS[seed % len(ENDPOINTS)],
                "ip": f"10.{sender}.{number % 250}.{index % 16}",
                "process_time": 0.25 + (seed % 4000) / 8,
                "status_code": STATUS_CODES[seed % len(STATUS_CODES)],
                "path": f"/{name}/{index}",
                "consumer": name,
            }
        )
    return Batch(name, logs)


@dataclass
class Outcomes:
    """What each batch's sender saw: acknowledged (2xx), refused (another status), or no
    answer (the connection failed or broke)."""

    acknowledged: dict[str, Batch] = field(default_factory=dict)
    refused: dict[str, tuple[Batch, str]] = field(default_factory=dict)
    unanswered: dict[str, Batch] = field(default_factory=dict)
    # Unanswered after the request was sent (not a refused connection): maybe stored.
    cut_off: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def sent(self) -> dict[str, Batch]:
        refused = {name: batch for name, (batch, _) in self.refused.items()}
        return {**self.acknowledged, **refused, **self.unanswered}

    def statuses(self) -> Counter[str]:
        """How many batches got each refusal (status and the start of the body)."""
        return Counter(answer for _, answer in self.refused.values())


def send_batches(
    base_urls: Sequence[str],
    api_keys: Sequence[str],
    senders: int,
    batch_size: int,
    keep_going: Callable[[], bool],
    stop_on_no_answer: bool,
    outcomes: Outcomes | None = None,
) -> Outcomes:
    """`senders` threads post marked batches, sender i to base_urls[i % n] with
    api_keys[i % m], for as long as `keep_going()` says; returns once all have stopped.
    Outcomes are recorded as they come into `outcomes`, if given, for others to watch."""
    outcomes = outcomes if outcomes is not None else Outcomes()

    def send(sender: int) -> None:
        url = base_urls[sender % len(base_urls)]
        headers = {"X-API-Key": api_keys[sender % len(api_keys)]}
        with httpx.Client(base_url=url, headers=headers, timeout=30) as client:
            for number in itertools.count():
                if not keep_going():
                    return
                batch = marked_batch(sender, number, batch_size)
                if not _post(client, batch, outcomes) and stop_on_no_answer:
                    return

    threads = [threading.Thread(target=send, args=(sender,)) for sender in range(senders)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a sender did not stop"
    return outcomes


def _post(client: httpx.Client, batch: Batch, outcomes: Outcomes) -> bool:
    """Post one batch and record the outcome; False when no answer came."""
    try:
        response = client.post("/track/batch", json=batch.body())
    except httpx.TransportError as error:
        with outcomes.lock:
            outcomes.unanswered[batch.name] = batch
            if not isinstance(error, httpx.ConnectError):
                outcomes.cut_off.add(batch.name)
        return False
    with outcomes.lock:
        if response.is_success:
            assert response.json() == {"accepted": len(batch.logs)}, response.text
            outcomes.acknowledged[batch.name] = batch
        else:
            outcomes.refused[batch.name] = (batch, f"{response.status_code} {response.text[:120]}")
    return True


def resend(base_url: str, api_key: str, batches: Sequence[Batch]) -> Outcomes:
    """Post each batch again, one after another, with its batch id (a client's retry)."""
    outcomes = Outcomes()
    with httpx.Client(base_url=base_url, headers={"X-API-Key": api_key}, timeout=30) as client:
        for batch in batches:
            _post(client, batch, outcomes)
    return outcomes


def all_raw_logs(base_url: str, api_key: str) -> list[dict[str, Any]]:
    """Every log the key has, page by page (keyset paging with `before_id`)."""
    found: list[dict[str, Any]] = []
    params: dict[str, Any] = {"limit": PAGE}
    with httpx.Client(base_url=base_url, headers={"X-API-Key": api_key}, timeout=60) as client:
        while True:
            response = client.get("/raw_logs", params=params)
            assert response.status_code == 200, response.text
            page = response.json()
            found.extend(page)
            if len(page) < PAGE:
                return found
            params["before_id"] = page[-1]["id"]


def dashboard(base_url: str, api_key: str) -> dict[str, Any]:
    response = httpx.get(
        f"{base_url}/dashboard",
        params={"top": 100, "granularity": "hour"},
        headers={"X-API-Key": api_key},
        timeout=60,
    )
    assert response.status_code == 200, response.text
    return response.json()


def stored_batches(raw_logs: list[dict[str, Any]]) -> Counter[str]:
    """How many logs of each batch are stored, by batch name."""
    return Counter(log["consumer"] for log in raw_logs)


def assert_stored_exactly(raw_logs: list[dict[str, Any]], expected: dict[str, Batch]) -> None:
    """The stored logs are the expected batches' logs, each once, with the fields sent."""
    paths = Counter(log["path"] for log in raw_logs)
    assert [path for path, count in paths.items() if count > 1] == [], "stored twice"
    stored = {log["path"]: _comparable(log) for log in raw_logs}
    sent = {log["path"]: _comparable(log) for batch in expected.values() for log in batch.logs}
    assert stored.keys() - sent.keys() == set(), "stored but not expected"
    assert sent.keys() - stored.keys() == set(), "expected but not stored"
    assert stored == sent


def _comparable(log: dict[str, Any]) -> tuple[Any, ...]:
    created_at = datetime.fromisoformat(log["created_at"].replace("Z", "+00:00"))
    return (
        created_at,
        log["method"],
        log["endpoint"],
        log["ip"],
        round(log["process_time"], 3),
        log["status_code"],
        log["consumer"],
    )


def assert_dashboard_agrees(board: dict[str, Any], raw_logs: list[dict[str, Any]]) -> None:
    """The dashboard (read from rollups) says exactly what the raw rows say."""
    total = len(raw_logs)
    errors = [log for log in raw_logs if log["status_code"] >= 400]
    times = [log["process_time"] for log in raw_logs]
    summary = board["summary"]
    assert summary["total_requests"] == total
    assert summary["unique_ips"] == len({log["ip"] for log in raw_logs})
    assert summary["error_rate"] == round(100 * len(errors) / total, 2)
    assert summary["min_response_time"] == round(min(times), 2)
    assert summary["max_response_time"] == round(max(times), 2)
    assert abs(summary["avg_response_time"] - sum(times) / total) <= 0.006
    assert board["method_usage"] == dict(Counter(log["method"] for log in raw_logs))
    assert board["status_codes"] == {
        str(status): count
        for status, count in Counter(log["status_code"] for log in raw_logs).items()
    }
    per_endpoint = {
        row["endpoint"]: (row["requests"], row["errors_count"]) for row in board["endpoint_stats"]
    }
    requests = Counter(log["endpoint"] for log in raw_logs)
    failed = Counter(log["endpoint"] for log in errors)
    assert per_endpoint == {endpoint: (n, failed[endpoint]) for endpoint, n in requests.items()}
    per_ip = Counter(log["ip"] for log in raw_logs)
    assert {row["ip"]: row["requests"] for row in board["top_ips"]} == {
        row["ip"]: per_ip[row["ip"]] for row in board["top_ips"]
    }
    assert (
        sorted(row["requests"] for row in board["top_ips"])
        == sorted(per_ip.values())[-len(board["top_ips"]) :]
    )
    assert sum(point["requests"] for point in board["time_series"]) == total
