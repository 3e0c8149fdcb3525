"""The real thing: `analytics serve` (uvicorn) on a loopback port with a SQLite file."""

from __future__ import annotations

import csv
import io
import json
import signal
from collections.abc import Iterator
from pathlib import Path

import httpx

from tests.e2e.bodies import log_body
from tests.e2e.server import serving, stop


def test_a_real_server_takes_logs_and_answers_dashboards(tmp_path: Path) -> None:
    database = tmp_path / "analytics.db"
    log_path = tmp_path / "server.log"

    with (
        serving(f"sqlite:///{database}", log_path) as server,
        httpx.Client(base_url=server.base_url, timeout=30) as client,
    ):
        created = client.post("/generate_key")
        assert created.status_code == 201
        headers = {"X-API-Key": created.json()["api_key"]}

        logs = [log_body(endpoint=f"/e/{i % 3}", status_code=500 if i % 4 == 0 else 200)
                for i in range(40)]  # fmt: skip
        accepted = client.post("/track/batch", json={"logs": logs}, headers=headers)
        assert accepted.status_code == 202
        assert accepted.json() == {"accepted": 40}
        assert client.post("/track", json=log_body(), headers=headers).status_code == 202

        dashboard = client.get("/dashboard", headers=headers).json()
        assert dashboard["summary"]["total_requests"] == 41
        assert dashboard["summary"]["error_rate"] == round(100 * 10 / 41, 2)

        rows = client.get("/raw_logs", params={"limit": 1000}, headers=headers).json()
        as_csv = client.get("/raw_logs", params={"limit": 1000},
                            headers={**headers, "Accept": "text/csv"})  # fmt: skip
        assert [r["id"] for r in csv.DictReader(io.StringIO(as_csv.text))] == [
            str(row["id"]) for row in rows
        ]
        assert client.get("/dashboard").status_code == 401
        assert client.get("/").json()["name"] == "fastapi-analytics"
        exit_code = stop(server)

    # uvicorn shuts down gracefully, then re-raises the SIGTERM it caught.
    assert exit_code in (0, -signal.SIGTERM)
    assert "Application shutdown complete" in server.output()
    assert database.exists()
    assert "ANALYTICS_ADMIN_TOKEN is not set" in server.output()


def test_a_real_server_refuses_a_streamed_body_over_the_limit(tmp_path: Path) -> None:
    with serving(f"sqlite:///{tmp_path / 'a.db'}", tmp_path / "server.log") as server:
        key = httpx.post(f"{server.base_url}/generate_key").json()["api_key"]

        def chunks() -> Iterator[bytes]:  # chunked: no Content-Length to decide from
            yield b'{"logs": ['
            for _ in range(4000):
                yield json.dumps(log_body(user_agent="u" * 1000)).encode() + b","
            yield b"]}"

        try:
            response = httpx.post(
                f"{server.base_url}/track/batch",
                content=chunks(),
                headers={"X-API-Key": key},
                timeout=30,
            )
            assert response.status_code == 413
        except httpx.WriteError:
            pass  # the server answered 413 and closed before the client finished writing
        logs = httpx.get(f"{server.base_url}/raw_logs", headers={"X-API-Key": key}).json()

    assert logs == []


def test_data_outlives_a_restart_with_several_workers(tmp_path: Path) -> None:
    database_url = f"sqlite:///{tmp_path / 'analytics.db'}"
    log_path = tmp_path / "server.log"

    with serving(database_url, log_path, "--workers", "2") as server:
        key = httpx.post(f"{server.base_url}/generate_key").json()["api_key"]
        for _ in range(10):  # spread over both workers
            response = httpx.post(
                f"{server.base_url}/track", json=log_body(), headers={"X-API-Key": key}
            )
            assert response.status_code == 202

    with serving(database_url, log_path) as restarted:
        dashboard = httpx.get(f"{restarted.base_url}/dashboard", headers={"X-API-Key": key})

    assert dashboard.json()["summary"]["total_requests"] == 10
