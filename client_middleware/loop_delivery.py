"""Full batches POSTed from the app's event loop; whatever does not go well goes to the thread.

Why the loop, for the common case: measured under uvicorn and `wrk` (docs/middleware.md), the
sender thread waking once per batch cost the app more than its work. Each socket call of its
POST gives up the GIL and must win it back from a busy loop; every turn of the loop then wakes
it to find the GIL taken again (most under Starlette's `BaseHTTPMiddleware`, whose loop turns
several times per request). On the loop, a POST is a write and a read callback between
requests, and no other thread runs.

Only the first attempt lives here: one kept-alive connection, one batch at a time, an answer
read by its `Content-Length` or its chunks. Any other outcome than a 2xx (another status, no
answer in time, no connection) goes to the sender thread with the very batch, and the answer
or why none came: the thread owns retries, backoff, `Retry-After`, 401, 413 and the shutdown
flush. It sends the
same body, so the same `batch_id`: the server stores a batch once, however often it arrives.
Through a proxy (which only the thread's transport speaks) everything goes by the thread.
"""

from __future__ import annotations

import asyncio
import ssl
from dataclasses import dataclass
from typing import Any

from client_middleware.batch import batch_headers
from client_middleware.transport import Answer, server_address

_END_OF_HEAD = b"\r\n\r\n"


class AnswerReader(asyncio.Protocol):
    """One connection's bytes, read into one answer at a time."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.keep_alive = True
        self._answer: asyncio.Future[Answer] | None = None
        self._received = bytearray()
        self._head: _Head | None = None

    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        self._fail(ConnectionError("the server closed the connection"))

    def expect_answer(self, answer: asyncio.Future[Answer]) -> None:
        self._answer = answer
        self._received.clear()
        self._head = None

    def data_received(self, data: bytes) -> None:
        answer = self._answer
        if answer is None or answer.done():
            return
        received = self._received
        received += data
        head = self._head
        if head is None:
            head_end = received.find(_END_OF_HEAD)
            if head_end < 0:
                return
            try:
                head = self._head = _read_head(bytes(received[:head_end]))
            except (ValueError, IndexError):  # not an HTTP answer: give the connection up
                self.keep_alive = False
                self._fail(ConnectionError("the server's answer could not be read"))
                return
            del received[: head_end + len(_END_OF_HEAD)]
            self.keep_alive = head.keep_alive
        try:
            body = _chunked_body(received) if head.chunked else _sized_body(received, head.length)
        except ValueError:
            self.keep_alive = False
            self._fail(ConnectionError("the server's answer could not be read"))
            return
        if body is not None:
            text = body.decode("utf-8", "replace")
            answer.set_result(Answer(head.status, head.retry_after, text))

    def _fail(self, error: Exception) -> None:
        answer = self._answer
        if answer is not None and not answer.done():
            answer.set_exception(error)


@dataclass(frozen=True, slots=True)
class _Head:
    status: int
    length: int  # -1: none given
    chunked: bool
    keep_alive: bool
    retry_after: str | None


def _read_head(head: bytes) -> _Head:
    """An HTTP/1.1 answer's head. An answer with neither a length nor chunks is taken as
    it stands and the connection given up after it: its status says what happened."""
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    length, chunked, keep_alive, retry_after = -1, False, True, None
    for line in lines[1:]:
        name, _, value = line.partition(":")
        name, value = name.strip().lower(), value.strip()
        if name == "content-length":
            length = int(value)
        elif name == "transfer-encoding":
            chunked = value.lower().endswith("chunked")
        elif name == "connection" and value.lower() == "close":
            keep_alive = False
        elif name == "retry-after":
            retry_after = value
    if length < 0 and not chunked:
        keep_alive = False
    return _Head(status, length, chunked, keep_alive, retry_after)


def _sized_body(data: bytearray, length: int) -> bytes | None:
    """The first `length` bytes (all there is when no length was given); None until there."""
    if length < 0:
        return bytes(data)
    return bytes(data[:length]) if len(data) >= length else None


def _chunked_body(data: bytearray) -> bytes | None:
    """The body of the chunked message `data` starts with; None until it is complete."""
    body = bytearray()
    at = 0
    while True:
        line_end = data.find(b"\r\n", at)
        if line_end < 0:
            return None
        size = int(bytes(data[at:line_end]).split(b";")[0], 16)
        at = line_end + 2
        if size == 0:  # the last chunk; then trailer lines, if any, and an empty line
            if data.startswith(b"\r\n", at) or data.find(_END_OF_HEAD, at - 2) >= 0:
                return bytes(body)
            return None
        if len(data) < at + size + 2:
            return None
        body += data[at : at + size]
        at += size + 2


class LoopDelivery:
    """POSTs batch bodies over one connection of the running loop."""

    def __init__(self, api_base: str, api_key: str, path: str, timeout: float) -> None:
        self._timeout = timeout
        self._reader: AnswerReader | None = None
        # How many connections this delivery has opened: one for many batches while the
        # server keeps them alive (what tests and a curious operator can check).
        self.connections_opened = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self.usable = False  # through a proxy, or with a bad URL or key: the thread's alone
        try:
            server = server_address(api_base)
            headers = "".join(
                f"{name}: {value}\r\n" for name, value in batch_headers(api_key).items()
            )
            self._head = (
                f"POST {server.base_path}{path} HTTP/1.1\r\nHost: {server.authority}\r\n"
                f"{headers}Content-Length: "
            ).encode("latin-1")
        except ValueError:  # a bad URL, or a key no header carries: the thread reports it
            return
        self._host, self._port = server.host, server.port
        self.usable = server.proxy is None
        self._tls = ssl.create_default_context() if server.https and self.usable else None

    async def post(self, body: bytes) -> Answer | str:
        """The server's answer, or why none came (in time)."""
        loop = asyncio.get_running_loop()
        reused = self._reader is not None and self._loop is loop
        try:
            try:
                return await self._post(loop, body)
            except ConnectionError:
                if not reused:
                    raise
            # A kept-alive connection the server closed meanwhile: once more, on a new one.
            return await self._post(loop, body)
        except TimeoutError:
            return f"no answer within {self._timeout:g} s"
        except OSError as error:  # ConnectionError and ssl.SSLError are OSErrors
            return f"{type(error).__name__}: {error}"

    async def _post(self, loop: asyncio.AbstractEventLoop, body: bytes) -> Answer:
        answer: asyncio.Future[Answer] = loop.create_future()
        try:
            async with asyncio.timeout(self._timeout):
                reader = await self._connection(loop)
                reader.expect_answer(answer)
                if reader.transport is None:
                    raise ConnectionError("the connection was lost")
                reader.transport.write(b"%s%d\r\n\r\n%s" % (self._head, len(body), body))
                result = await answer
        except BaseException:
            self.close()
            raise
        if not reader.keep_alive:
            self.close()
        return result

    def close(self) -> None:
        reader, self._reader = self._reader, None
        if reader is not None and reader.transport is not None:
            reader.transport.close()

    def forget(self) -> None:
        """Drop the connection without touching it (a forked child: its loop is the parent's)."""
        self._reader = None

    async def _connection(self, loop: asyncio.AbstractEventLoop) -> AnswerReader:
        reader = self._reader
        if reader is not None and reader.transport is not None and self._loop is loop:
            return reader
        if self._loop is loop:
            self.close()  # lost
        else:
            self.forget()  # made on another loop, which may be closed by now
        _, reader = await loop.create_connection(
            AnswerReader, self._host, self._port, ssl=self._tls
        )
        self._reader, self._loop = reader, loop
        self.connections_opened += 1
        return reader
