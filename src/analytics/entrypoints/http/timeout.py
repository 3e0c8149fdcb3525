"""A pure ASGI middleware that answers 503 when a request is not answered in time.

The clock starts when the request's headers are in and stops when the response starts, so
a body that trickles in (slowloris) counts, and so does a handler stuck on storage. Either
way the client gets 503 with Retry-After and the connection is closed.

A timer, not a task per request (which would cost a loop iteration on every request): when
it fires, a task of its own sends the 503 at once, and the request's task is cancelled. A
request waiting for body bytes ends there; a sync route's worker thread cannot be stopped,
so a handler that was writing may still commit after the 503 (a retried batch then counts
once, thanks to its `batch_id`), and anything it sends afterwards is dropped.

Once a response has started, it is not cut short: a long CSV download may take its time.
"""

from __future__ import annotations

import asyncio
import logging

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from analytics.entrypoints.http.asgi_answers import send_error
from analytics.entrypoints.http.errors import RETRY_AFTER_UNAVAILABLE_S

logger = logging.getLogger("analytics.http")


class RequestTimeout:
    def __init__(self, app: ASGIApp, timeout_seconds: float) -> None:
        self.app = app
        self.timeout_seconds = timeout_seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = _Progress(receive, send, self.timeout_seconds)
        timer = asyncio.get_running_loop().call_later(
            self.timeout_seconds, request.expire, asyncio.current_task()
        )
        try:
            await self.app(scope, request.receive, request.send)
        except BaseException as error:
            if request.answer is None:
                raise
            if isinstance(error, asyncio.CancelledError):
                asyncio.current_task().uncancel()  # type: ignore[union-attr]  # ours
            else:
                logger.warning("a timed-out request failed afterwards: %r", error)
        finally:
            timer.cancel()
        if request.answer is not None:
            await request.answer


class _Progress:
    """Whether the app waits for the client or has answered; after a time-out, answers
    instead of the app and drops what the app still sends."""

    def __init__(self, receive: Receive, send: Send, timeout_seconds: float) -> None:
        self._receive = receive
        self._send = send
        self._timeout_seconds = timeout_seconds
        self.waiting_for_body = False
        self.response_started = False
        self.answer: asyncio.Task[None] | None = None

    async def receive(self) -> Message:
        self.waiting_for_body = True
        try:
            return await self._receive()
        finally:
            self.waiting_for_body = False

    async def send(self, message: Message) -> None:
        if self.answer is not None:
            return
        if message["type"] == "http.response.start":
            self.response_started = True
        await self._send(message)

    def expire(self, request_task: asyncio.Task[None] | None) -> None:
        if self.response_started:
            return
        self.answer = asyncio.ensure_future(
            _send_timeout(self._send, self._timeout_seconds, self.waiting_for_body)
        )
        if request_task is not None:
            request_task.cancel()


async def _send_timeout(send: Send, timeout_seconds: float, waiting_for_body: bool) -> None:
    if waiting_for_body:  # the client is the slow one
        detail = f"the request body did not arrive within {timeout_seconds:g} s"
    else:
        detail = f"the request was not answered within {timeout_seconds:g} s; retry later"
    logger.warning("answering 503: %s", detail)
    retry_after = str(RETRY_AFTER_UNAVAILABLE_S).encode()
    await send_error(send, 503, detail, [(b"retry-after", retry_after)])
