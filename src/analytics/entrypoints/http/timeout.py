"""A pure ASGI middleware that answers 503 when a request is not answered in time.

The clock starts when the request's headers are in and stops when the response starts, so
a body that trickles in (slowloris) counts, and so does a handler stuck on storage. Either
way the client gets 503 with Retry-After and the connection is closed.

The app runs as a task of its own, raced against the clock, because a sync route runs in a
worker thread which cannot be cancelled: awaiting it would wait for the thread. On time-out
the task is cancelled (at once when it waits for body bytes, else when its thread returns)
and anything it still sends is dropped. A handler that was writing may still commit after
the 503; a retried batch then counts once thanks to its `batch_id`.

Once a response has started, it is not cut short: a long CSV download may take its time.
"""

from __future__ import annotations

import asyncio
import json
import logging

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from analytics.entrypoints.http.errors import RETRY_AFTER_UNAVAILABLE_S

logger = logging.getLogger("analytics.http")

# Tasks of timed-out requests, kept referenced until they end (asyncio holds tasks weakly).
_abandoned: set[asyncio.Task[None]] = set()


class RequestTimeout:
    def __init__(self, app: ASGIApp, timeout_seconds: float) -> None:
        self.app = app
        self.timeout_seconds = timeout_seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = _Progress(receive, send)
        task = asyncio.ensure_future(self.app(scope, request.receive, request.send))
        try:
            done, _ = await asyncio.wait({task}, timeout=self.timeout_seconds)
        except asyncio.CancelledError:
            task.cancel()
            raise
        if done or request.response_started:
            await task  # finished, or answering: its outcome is the request's
            return
        request.timed_out = True
        task.cancel()
        _abandoned.add(task)
        task.add_done_callback(_forget)
        await _send_timeout(send, self.timeout_seconds, request.waiting_for_body)


class _Progress:
    """Whether the app waits for the client or has answered; drops what it sends after a
    time-out."""

    def __init__(self, receive: Receive, send: Send) -> None:
        self._receive = receive
        self._send = send
        self.waiting_for_body = False
        self.response_started = False
        self.timed_out = False

    async def receive(self) -> Message:
        self.waiting_for_body = True
        try:
            return await self._receive()
        finally:
            self.waiting_for_body = False

    async def send(self, message: Message) -> None:
        if self.timed_out:
            return
        if message["type"] == "http.response.start":
            self.response_started = True
        await self._send(message)


def _forget(task: asyncio.Task[None]) -> None:
    _abandoned.discard(task)
    if not task.cancelled() and task.exception() is not None:
        logger.warning("a timed-out request failed afterwards: %r", task.exception())


async def _send_timeout(send: Send, timeout_seconds: float, waiting_for_body: bool) -> None:
    if waiting_for_body:  # the client is the slow one
        detail = f"the request body did not arrive within {timeout_seconds:g} s"
    else:
        detail = f"the request was not answered within {timeout_seconds:g} s; retry later"
    logger.warning("answering 503: %s", detail)
    body = json.dumps({"detail": detail}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 503,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"retry-after", str(RETRY_AFTER_UNAVAILABLE_S).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
