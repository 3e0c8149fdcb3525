"""Replayed batches (a middleware retrying after a lost acknowledgement): the same 202,
stored once, on every storage; concurrently too, against real server processes."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from analytics.containers import MEMORY, storage_kind
from tests.e2e.bodies import batch_body, log_body
from tests.e2e.conftest import Api
from tests.e2e.server import serving

LOGS = [log_body(endpoint=f"/e{i}", process_time=1.0 + i) for i in range(5)]


def post_batch(api: Api, api_key: str, body: dict[str, Any]) -> Any:
    response = api.client.post("/track/batch", json=body, headers={"X-API-Key": api_key})
    assert response.status_code == 202, response.text
    return response.json()


def totals(api: Api, api_key: str) -> tuple[int, int]:
    """(logs listed, requests on the dashboard)"""
    listed = len(api.get("/raw_logs", api_key, limit=1000))
    return listed, api.get("/dashboard", api_key)["summary"]["total_requests"]


def test_a_replayed_batch_gets_the_same_answer_and_is_stored_once(api: Api, api_key: str) -> None:
    body = batch_body(LOGS, batch_id=str(uuid.uuid4()))
    answers = [post_batch(api, api_key, body) for _ in range(3)]
    assert answers == [{"accepted": 5}] * 3
    assert totals(api, api_key) == (5, 5)


def test_batches_without_or_with_new_ids_are_each_stored(api: Api, api_key: str) -> None:
    post_batch(api, api_key, batch_body(LOGS))
    post_batch(api, api_key, batch_body(LOGS))
    post_batch(api, api_key, batch_body(LOGS, batch_id=str(uuid.uuid4())))
    post_batch(api, api_key, batch_body(LOGS, batch_id=str(uuid.uuid4())))
    assert totals(api, api_key) == (20, 20)


def test_an_ingest_key_and_its_full_key_share_batch_ids(api: Api, api_key: str) -> None:
    """Both write the same owner's data: a batch retried under the other key is a retry."""
    ingest_key = api.client.post("/keys/ingest", headers={"X-API-Key": api_key}).json()["api_key"]
    body = batch_body(LOGS, batch_id=str(uuid.uuid4()))
    post_batch(api, ingest_key, body)
    assert post_batch(api, api_key, body) == {"accepted": 5}
    assert totals(api, api_key) == (5, 5)


def test_another_owners_batch_with_the_same_id_is_stored(api: Api) -> None:
    alice, bob = api.new_key(), api.new_key()
    body = batch_body(LOGS, batch_id=str(uuid.uuid4()))
    post_batch(api, alice, body)
    post_batch(api, bob, batch_body(LOGS[:2], batch_id=body["batch_id"]))
    assert totals(api, alice) == (5, 5)
    assert totals(api, bob) == (2, 2)


def test_a_replay_with_the_id_in_another_spelling_is_still_a_replay(api: Api, api_key: str) -> None:
    batch_id = uuid.uuid4()
    post_batch(api, api_key, batch_body(LOGS, batch_id=str(batch_id)))
    post_batch(api, api_key, batch_body(LOGS, batch_id=str(batch_id).upper()))
    post_batch(api, api_key, batch_body(LOGS, batch_id=batch_id.hex))
    assert totals(api, api_key) == (5, 5)


def test_concurrent_replays_against_real_servers_store_each_batch_once(
    database_url: str, tmp_path: Path
) -> None:
    """Ten batches, each sent six times at once, to a real server (two worker processes on
    SQLite and PostgreSQL): every answer is the batch's 202, and each batch is stored once."""
    workers = "1" if storage_kind(database_url) == MEMORY else "2"
    batches = [
        batch_body(
            [log_body(endpoint=f"/b{b}/{i}") for i in range(b + 1)], batch_id=str(uuid.uuid4())
        )
        for b in range(10)
    ]
    sends = [body for body in batches for _ in range(6)]
    with (
        serving(database_url, tmp_path / "server.log", "--workers", workers) as server,
        httpx.Client(base_url=server.base_url, timeout=60) as client,
    ):
        api_key = client.post("/generate_key").json()["api_key"]
        headers = {"X-API-Key": api_key}

        def send(body: dict[str, Any]) -> tuple[int, Any]:
            response = client.post("/track/batch", json=body, headers=headers)
            return response.status_code, response.json()

        with ThreadPoolExecutor(max_workers=len(sends)) as pool:
            answers = list(pool.map(send, sends))

        assert answers == [(202, {"accepted": len(body["logs"])}) for body in sends]
        listed = client.get("/raw_logs", params={"limit": 1000}, headers=headers).json()
        dashboard = client.get("/dashboard", headers=headers).json()
    expected = sorted(log["endpoint"] for body in batches for log in body["logs"])
    assert sorted(row["endpoint"] for row in listed) == expected
    assert dashboard["summary"]["total_requests"] == len(expected)


@pytest.mark.parametrize("batch_id", ["", "123", "not-a-uuid", 7])
def test_a_batch_id_that_is_not_a_uuid_is_422_and_nothing_is_stored(
    memory_api: Api, memory_key: str, batch_id: Any
) -> None:
    response = memory_api.client.post(
        "/track/batch",
        json=batch_body(LOGS, batch_id=batch_id),
        headers={"X-API-Key": memory_key},
    )
    assert response.status_code == 422
    assert totals(memory_api, memory_key) == (0, 0)
