"""Request time-outs: a handler stuck on storage and a body that trickles in get 503.

The first tests run the middleware in process around small apps; the last ones run
`analytics serve` and talk to it over a raw socket, as a slowloris client would.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from anyio import to_thread
from fastapi.testclient import TestClient
from starlette.types import Receive, Scope, Send

from analytics.entrypoints.http.timeout import RequestTimeout
from tests.e2e.bodies import SEED_LOG, batch_body
from tests.e2e.server import RunningServer, serving

TIMEOUT_S = 1.0


async def answer(send: Send, status: int = 200, body: bytes = b"done") -> None:
    await send({"type": "http.response.start", "status": status, "headers": []})
    await send({"type": "http.response.body", "body": body})


def app_blocking_a_thread(release: threading.Event) -> object:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await to_thread.run_sync(release.wait, 10)  # a sync route stuck on storage
        await answer(send)

    return app


def test_a_handler_stuck_in_a_thread_gets_503_at_the_deadline() -> None:
    release = threading.Event()
    client = TestClient(RequestTimeout(app_blocking_a_thread(release), TIMEOUT_S))
    started = time.monotonic()
    try:
        response = client.get("/")
    finally:
        release.set()
    elapsed = time.monotonic() - started

    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    assert response.json() == {"detail": "the request was not answered within 1 s; retry later"}
    assert TIMEOUT_S <= elapsed < TIMEOUT_S + 2


def test_a_quick_answer_passes_unchanged() -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await answer(send, 201, b"made")

    response = TestClient(RequestTimeout(app, TIMEOUT_S)).get("/")

    assert (response.status_code, response.content) == (201, b"made")


def test_a_response_already_started_is_not_cut_short() -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        for part in (b"a", b"b"):
            await to_thread.run_sync(time.sleep, TIMEOUT_S)
            await send({"type": "http.response.body", "body": part, "more_body": True})
        await send({"type": "http.response.body", "body": b"c"})

    response = TestClient(RequestTimeout(app, TIMEOUT_S)).get("/")

    assert (response.status_code, response.content) == (200, b"abc")


def test_an_error_of_the_app_is_raised_as_before() -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        TestClient(RequestTimeout(app, TIMEOUT_S)).get("/")


# --- against `analytics serve` ---------------------------------------------------------


@pytest.fixture(scope="module")
def server_directory(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("timeouts")


@pytest.fixture(scope="module")
def server(server_directory: Path) -> Iterator[RunningServer]:
    """One server for the module: starting one takes seconds on a busy machine."""
    environment = {"ANALYTICS_REQUEST_TIMEOUT_SECONDS": str(TIMEOUT_S)}
    with serving(
        f"sqlite:///{server_directory / 'analytics.db'}",
        server_directory / "server.log",
        environment=environment,
    ) as running:
        yield running


def new_key(server: RunningServer) -> str:
    response = httpx.post(f"{server.base_url}/generate_key")
    assert response.status_code == 201
    return str(response.json()["api_key"])


def read_response(connection: socket.socket, within_s: float) -> bytes:
    """Everything the server sends until it closes the connection (or `within_s` passes)."""
    connection.settimeout(within_s)
    received = b""
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        chunk = connection.recv(65536)
        if not chunk:
            return received
        received += chunk
    raise AssertionError(f"the server kept the connection open; it sent {received!r}")


def test_a_body_that_trickles_in_gets_503_and_the_connection_is_closed(
    server: RunningServer,
) -> None:
    api_key = new_key(server)
    body = json.dumps(batch_body([SEED_LOG] * 20)).encode()
    port = int(server.base_url.rsplit(":", 1)[1])
    head = (
        "POST /track/batch HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"X-API-Key: {api_key}\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode()
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", port)) as connection:
        connection.sendall(head)
        sent = 0
        try:
            while sent < len(body) and time.monotonic() - started < 4 * TIMEOUT_S:
                connection.sendall(body[sent : sent + 1])  # one byte every 100 ms
                sent += 1
                time.sleep(0.1)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server may close before we stop
        response = read_response(connection, within_s=5)
    elapsed = time.monotonic() - started

    status_line, _, rest = response.partition(b"\r\n")
    assert status_line == b"HTTP/1.1 503 Service Unavailable"
    assert b"the request body did not arrive within 1 s" in rest
    assert sent < len(body)
    assert elapsed < 4 * TIMEOUT_S
    stored = httpx.get(f"{server.base_url}/raw_logs", headers={"X-API-Key": api_key})
    assert stored.json() == []


@contextmanager
def sqlite_writers_held(database: Path) -> Iterator[None]:
    """Hold the lock the server's SQLite writers queue on (engine.SqliteWriteGate)."""
    descriptor = os.open(f"{database}.writelock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(descriptor, fcntl.LOCK_UN)
        os.close(descriptor)


def test_ingest_stuck_behind_a_writer_gets_503_then_the_server_goes_on(
    server: RunningServer, server_directory: Path
) -> None:
    api_key = new_key(server)
    headers = {"X-API-Key": api_key}
    batch = batch_body([SEED_LOG])

    with sqlite_writers_held(server_directory / "analytics.db"):
        started = time.monotonic()
        stuck = httpx.post(f"{server.base_url}/track/batch", json=batch, headers=headers)
        elapsed = time.monotonic() - started
        assert httpx.get(f"{server.base_url}/health").status_code == 200  # reads go on

    assert stuck.status_code == 503
    assert stuck.headers["Retry-After"] == "5"
    assert stuck.json()["detail"] == "the request was not answered within 1 s; retry later"
    assert TIMEOUT_S <= elapsed < TIMEOUT_S + 2
    again = httpx.post(f"{server.base_url}/track/batch", json=batch, headers=headers)
    assert again.status_code == 202
