"""The background expiry in a real server process: retention deletes old raw logs while
dashboards keep counting them, and batch ids older than a day are forgotten."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from analytics.adapters.sqlalchemy import create_database_engine
from analytics.containers import MEMORY, storage_kind
from tests.e2e.bodies import batch_body, log_body
from tests.e2e.server import serving
from tests.waiting import eventually

FAST_EXPIRY = {"ANALYTICS_EXPIRY_INTERVAL_SECONDS": "0.2"}
DAY_US = 86_400_000_000


def days_ago(days: float) -> str:
    return (datetime.now(UTC) - timedelta(days=days)).isoformat()


def test_retention_deletes_old_raw_logs_and_dashboards_keep_them(
    database_url: str, tmp_path: Path
) -> None:
    old = [log_body(created_at=days_ago(10 + i), endpoint="/old") for i in range(3)]
    recent = [log_body(created_at=days_ago(0.1), endpoint="/recent") for _ in range(2)]
    environment = {**FAST_EXPIRY, "ANALYTICS_RETENTION_DAYS": "2"}
    with (
        serving(database_url, tmp_path / "server.log", environment=environment) as server,
        httpx.Client(base_url=server.base_url, timeout=30) as client,
    ):
        headers = {"X-API-Key": client.post("/generate_key").json()["api_key"]}
        response = client.post("/track/batch", json=batch_body(old + recent), headers=headers)
        assert response.status_code == 202

        def listed() -> list[str]:
            rows = client.get("/raw_logs", headers=headers).json()
            return sorted(row["endpoint"] for row in rows)

        eventually(lambda: listed() == ["/recent", "/recent"], "old raw logs deleted")
        dashboard = client.get("/dashboard", headers=headers).json()
        endpoints = {row["endpoint"]: row["requests"] for row in dashboard["endpoint_stats"]}
    assert dashboard["summary"]["total_requests"] == 5
    assert endpoints == {"/old": 3, "/recent": 2}


def test_batch_ids_older_than_a_day_are_forgotten(database_url: str, tmp_path: Path) -> None:
    if storage_kind(database_url) == MEMORY:
        pytest.skip("the test ages batch ids in the database; memory has none to reach")
    engine = create_database_engine(database_url)
    body = batch_body([log_body(), log_body()], batch_id=str(uuid.uuid4()))
    try:
        with (
            serving(database_url, tmp_path / "server.log", environment=FAST_EXPIRY) as server,
            httpx.Client(base_url=server.base_url, timeout=30) as client,
        ):
            headers = {"X-API-Key": client.post("/generate_key").json()["api_key"]}

            def send() -> None:
                response = client.post("/track/batch", json=body, headers=headers)
                assert response.json() == {"accepted": 2}

            def stored() -> int:
                return len(client.get("/raw_logs", headers=headers).json())

            def remembered() -> bool:
                with engine.connect() as connection:
                    count = connection.execute(
                        sa.text("SELECT count(*) FROM batch_ids WHERE batch_id = :id"),
                        {"id": body["batch_id"]},
                    ).scalar_one()
                return count == 1

            send()
            time.sleep(0.5)  # expiry runs twice: a fresh id stays
            send()
            assert (stored(), remembered()) == (2, True)

            with engine.begin() as connection:  # received a day and a minute ago
                connection.execute(
                    sa.text("UPDATE batch_ids SET received_us = received_us - :age"),
                    {"age": DAY_US + 60_000_000},
                )
            eventually(lambda: not remembered(), "the old batch id forgotten")
            send()
            assert stored() == 4  # no longer a known batch: stored again
    finally:
        engine.dispose()
