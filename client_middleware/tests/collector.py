"""A small stand-in for the analytics server's `POST /track/batch`, with switchable faults.

It stores each batch once per `batch_id`, as the real server does, and remembers every
attempt, so tests can check that a retried batch kept its id and arrived exactly once.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]


@dataclass
class Attempt:
    batch_id: str | None
    size: int
    status: int


@dataclass
class Answer:
    """What the collector answers next: a status, optional headers, a delay, store or not."""

    status: int = 202
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    store: bool | None = None  # None: store exactly when the status is 2xx


class Collector:
    """ASGI app. `answers` (a queue of Answer) overrides `default` one request at a time."""

    def __init__(self, api_key: str = "test-key") -> None:
        self.api_key = api_key
        self.default = Answer()
        self.answers: list[Answer] = []
        self.batches: dict[str, dict[str, Any]] = {}
        self.attempts: list[Attempt] = []
        self.changed = threading.Condition()

    @property
    def logs(self) -> list[dict[str, Any]]:
        with self.changed:
            return [log for batch in self.batches.values() for log in batch["logs"]]

    def wait_for_logs(self, count: int, timeout: float = 30.0) -> list[dict[str, Any]]:
        """Block until at least `count` logs are stored (or time out), then return them all."""
        with self.changed:
            self.changed.wait_for(
                lambda: sum(len(b["logs"]) for b in self.batches.values()) >= count, timeout
            )
        return self.logs

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
        answer = self.answers.pop(0) if self.answers else self.default
        if answer.delay:
            await asyncio.sleep(answer.delay)
        status = answer.status
        headers = dict(scope["headers"])
        if headers.get(b"x-api-key", b"").decode() != self.api_key:
            status = 401
        payload = json.loads(body)
        with self.changed:
            self.attempts.append(Attempt(payload.get("batch_id"), len(payload["logs"]), status))
            store = answer.store if answer.store is not None else 200 <= status < 300
            if store and status != 401 and payload["batch_id"] not in self.batches:
                self.batches[payload["batch_id"]] = payload
            self.changed.notify_all()
        await _respond(send, status, {"accepted": len(payload["logs"])}, answer.headers)


async def _respond(send: Callable[[Message], Awaitable[None]], status: int, content: Any,
                   headers: dict[str, str] | None = None) -> None:  # fmt: skip
    body = json.dumps(content).encode()
    raw_headers = [(b"content-type", b"application/json")]
    raw_headers += [(k.encode(), v.encode()) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw_headers})
    await send({"type": "http.response.body", "body": body})
