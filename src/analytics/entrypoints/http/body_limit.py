"""A pure ASGI middleware that refuses request bodies over a size limit with 413.

It decides from `Content-Length` before the app runs, and otherwise counts the bytes as the
app reads them and stops at the first chunk past the limit, so no more than the limit plus
one chunk is ever held in memory, whatever the endpoint.
"""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from analytics.entrypoints.http.asgi_answers import send_error


class BodyTooLarge(HTTPException):
    """Raised from `receive` when the body passes the limit.

    An HTTPException, so that code between this middleware and the route which turns other
    errors into a 400 (e.g. FastAPI's own body parsing) lets it through as a 413.
    """

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the request body is larger than {limit} bytes")


class BodySizeLimit:
    def __init__(self, app: ASGIApp, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.max_body_bytes
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await _send_too_large(send, BodyTooLarge(limit))
            return

        received = 0
        response_started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        async def watched_send(message: Message) -> None:
            nonlocal response_started
            if message["type"] == "http.response.start":
                response_started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, watched_send)
        except BodyTooLarge as error:
            if response_started:
                raise
            await _send_too_large(send, error)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None  # the server rejects a malformed one; else the count decides
    return None


async def _send_too_large(send: Send, error: BodyTooLarge) -> None:
    await send_error(send, 413, error.detail)
