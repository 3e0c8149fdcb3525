"""Bodies over ANALYTICS_MAX_BODY_BYTES get 413 on every endpoint, before they are read whole."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from analytics.entrypoints.http.body_limit import BodySizeLimit
from tests.e2e.bodies import SEED_LOG, batch_body
from tests.e2e.conftest import Api

LIMIT = 4096

EVERY_ENDPOINT = [
    ("POST", "/generate_key"),
    ("POST", "/track"),
    ("POST", "/track/batch"),
    ("GET", "/raw_logs"),
    ("GET", "/dashboard"),
    ("GET", "/health"),
    ("GET", "/"),
    ("GET", "/ui"),
    ("POST", "/no/such/route"),
]


@pytest.fixture
def small_limit_api(api_factory: Callable[..., Api]) -> Api:
    return api_factory("memory://", max_body_bytes=LIMIT)


def stored_count(api: Api, api_key: str) -> int:
    return len(api.get("/raw_logs", api_key, limit=1000))


@pytest.mark.parametrize(("method", "path"), EVERY_ENDPOINT)
def test_a_declared_length_over_the_limit_is_413_on_every_endpoint(
    small_limit_api: Api, method: str, path: str
) -> None:
    response = small_limit_api.client.request(method, path, content=b" " * (LIMIT + 1))

    assert response.status_code == 413
    assert str(LIMIT) in response.json()["detail"]


def test_a_streamed_body_over_the_limit_is_413_and_nothing_is_stored(
    small_limit_api: Api,
) -> None:
    api_key = small_limit_api.new_key()
    logs = json.dumps(batch_body([SEED_LOG] * 100)).encode()
    assert len(logs) > LIMIT

    def chunks() -> Iterator[bytes]:  # no Content-Length: sent chunked
        for start in range(0, len(logs), 1000):
            yield logs[start : start + 1000]

    response = small_limit_api.client.post(
        "/track/batch", content=chunks(), headers={"X-API-Key": api_key}
    )

    assert response.status_code == 413
    assert stored_count(small_limit_api, api_key) == 0


def test_a_body_at_the_limit_is_accepted(small_limit_api: Api) -> None:
    api_key = small_limit_api.new_key()
    body = json.dumps(batch_body([SEED_LOG])).encode()
    padded = body[:-1] + b" " * (LIMIT - len(body)) + b"}"
    assert len(padded) == LIMIT

    response = small_limit_api.client.post(
        "/track/batch", content=padded, headers={"X-API-Key": api_key}
    )

    assert response.status_code == 202


def test_the_default_limit_refuses_a_10_mb_batch(memory_api: Api, memory_key: str) -> None:
    big_log = {**SEED_LOG, "user_agent": "x" * 2000}
    content = json.dumps(batch_body([big_log] * 5000)).encode()
    assert len(content) > 10_000_000

    response = memory_api.client.post(
        "/track/batch", content=content, headers={"X-API-Key": memory_key}
    )

    assert response.status_code == 413
    assert stored_count(memory_api, memory_key) == 0


# ---- the middleware alone, over raw ASGI -----------------------------------------------


class ReadingApp:
    """An app that reads the whole body, then answers 200 with its length."""

    def __init__(self) -> None:
        self.bytes_read = 0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        more = True
        while more:
            message = await receive()
            self.bytes_read += len(message.get("body", b""))
            more = message.get("more_body", False)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": str(self.bytes_read).encode()})


def run(
    middleware: BodySizeLimit, chunks: list[bytes], headers: list[tuple[bytes, bytes]]
) -> tuple[list[dict[str, Any]], int]:
    """Send `chunks` as one request; the messages sent back, and how many chunks were read."""
    pending = list(chunks)
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        chunk = pending.pop(0)
        return {"type": "http.request", "body": chunk, "more_body": bool(pending)}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/", "headers": headers}
    asyncio.run(middleware(scope, receive, send))
    return sent, len(chunks) - len(pending)


def test_it_stops_reading_at_the_first_chunk_past_the_limit() -> None:
    app = ReadingApp()
    middleware = BodySizeLimit(app, max_body_bytes=2500)

    sent, chunks_read = run(middleware, [b"x" * 1000] * 100, headers=[])

    assert sent[0]["status"] == 413
    assert chunks_read == 3  # 3000 bytes: the third chunk passed the limit
    assert app.bytes_read == 2000  # the app never got the chunk that passed it


def test_it_refuses_from_content_length_without_reading_anything() -> None:
    app = ReadingApp()
    middleware = BodySizeLimit(app, max_body_bytes=2500)

    sent, chunks_read = run(middleware, [b"x" * 1000] * 3, headers=[(b"content-length", b"3000")])

    assert sent[0]["status"] == 413
    assert chunks_read == 0


@pytest.mark.parametrize("content_length", [b"abc", b"", b"-1"])
def test_a_malformed_content_length_falls_back_to_counting(content_length: bytes) -> None:
    app = ReadingApp()
    middleware = BodySizeLimit(app, max_body_bytes=2500)

    sent, _ = run(middleware, [b"x" * 1000] * 2, headers=[(b"content-length", content_length)])

    assert sent[0]["status"] == 200
    assert sent[1]["body"] == b"2000"


def test_it_passes_other_scopes_through() -> None:
    seen: list[str] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        seen.append(scope["type"])

    asyncio.run(BodySizeLimit(app, max_body_bytes=1)({"type": "lifespan"}, None, None))

    assert seen == ["lifespan"]
