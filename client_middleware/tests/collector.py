"""A small stand-in for the analytics server's `POST /track/batch`, with switchable faults.

It stores each batch once per `batch_id`, as the real server does, refuses with 413 what the
real server refuses so (more than 1000 logs, a body over `max_body_bytes`), and remembers every
attempt, so tests can check that a retried batch kept its id and arrived exactly once.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]


@dataclass
class Attempt:
    api_key: str
    batch_id: str | None
    size: int
    status: int
    dropped: int
    at: float  # time.monotonic() when it arrived


@dataclass
class Answer:
    """What the collector answers next: a status, optional headers, a delay, store or not."""

    status: int = 202
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    store: bool | None = None  # None: store exactly when the status is 2xx
    gate: threading.Event | None = None  # hold the answer until the test sets it


class Collector:
    """ASGI app. `answers` (a queue of Answer) overrides `default` one request at a time."""

    def __init__(self, rejected_keys: frozenset[str] = frozenset({"unknown-key"})) -> None:
        self.rejected_keys = rejected_keys
        self.max_body_bytes = 2 * 1024 * 1024  # the real server's default
        self.default = Answer()
        self.answers: list[Answer] = []
        self.batches: dict[str, dict[str, Any]] = {}
        self.attempts: list[Attempt] = []
        self.changed = threading.Condition()

    def logs(self, api_key: str) -> list[dict[str, Any]]:
        """The stored logs sent with `api_key`, in the order they arrived."""
        with self.changed:
            return [
                log
                for batch in self.batches.values()
                if batch["api_key"] == api_key
                for log in batch["logs"]
            ]

    def batches_of(self, api_key: str) -> list[dict[str, Any]]:
        with self.changed:
            return [batch for batch in self.batches.values() if batch["api_key"] == api_key]

    def attempts_of(self, api_key: str) -> list[Attempt]:
        with self.changed:
            return [attempt for attempt in self.attempts if attempt.api_key == api_key]

    def wait_for_logs(
        self, api_key: str, count: int, timeout: float = 30.0
    ) -> list[dict[str, Any]]:
        """Block until at least `count` logs of `api_key` are stored (or time out)."""
        with self.changed:
            self.changed.wait_for(lambda: len(self._unlocked_logs(api_key)) >= count, timeout)
        return self.logs(api_key)

    def wait_for_path(self, api_key: str, path: str, timeout: float = 30.0) -> None:
        """Block until a log of `path` sent with `api_key` is stored."""
        with self.changed:
            self.changed.wait_for(
                lambda: any(log["path"] == path for log in self._unlocked_logs(api_key)), timeout
            )

    def _unlocked_logs(self, api_key: str) -> list[dict[str, Any]]:
        return [log for b in self.batches.values() if b["api_key"] == api_key for log in b["logs"]]

    async def __call__(self, scope: Scope, receive: Callable[[], Awaitable[Message]],
                       send: Callable[[Message], Awaitable[None]]) -> None:  # fmt: skip
        if scope["type"] == "lifespan":
            while (message := await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        if scope["path"] != "/track/batch":
            await _respond(send, 200 if scope["path"] == "/" else 404, {"ok": True})
            return
        arrived = time.monotonic()
        with self.changed:
            answer = self.answers.pop(0) if self.answers else self.default
        if answer.delay:
            await asyncio.sleep(answer.delay)
        while answer.gate is not None and not answer.gate.is_set():
            await asyncio.sleep(0.01)
        status = answer.status
        api_key = dict(scope["headers"]).get(b"x-api-key", b"").decode()
        if not api_key or api_key in self.rejected_keys:
            status = 401
        payload = json.loads(body)
        if len(payload["logs"]) > 1000 or len(body) > self.max_body_bytes:
            status = 413
        with self.changed:
            self.attempts.append(
                Attempt(
                    api_key,
                    payload.get("batch_id"),
                    len(payload["logs"]),
                    status,
                    payload.get("dropped", 0),
                    arrived,
                )
            )
            store = answer.store if answer.store is not None else 200 <= status < 300
            if store and status != 401 and payload["batch_id"] not in self.batches:
                self.batches[payload["batch_id"]] = {**payload, "api_key": api_key}
            self.changed.notify_all()
        await _respond(send, status, {"accepted": len(payload["logs"])}, answer.headers)


async def _respond(send: Callable[[Message], Awaitable[None]], status: int, content: Any,
                   headers: dict[str, str] | None = None) -> None:  # fmt: skip
    body = json.dumps(content).encode()
    raw_headers = [(b"content-type", b"application/json")]
    raw_headers += [(k.encode(), v.encode()) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw_headers})
    await send({"type": "http.response.body", "body": body})
