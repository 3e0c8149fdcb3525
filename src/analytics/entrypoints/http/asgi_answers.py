"""Answers that pure ASGI middleware sends itself, in the API's error shape."""

from __future__ import annotations

import json
from collections.abc import Sequence

from starlette.types import Send


async def send_error(
    send: Send, status: int, detail: str, headers: Sequence[tuple[bytes, bytes]] = ()
) -> None:
    """`{"detail": detail}` with `status`, closing the connection (the request body may not
    have been read to its end, so the connection cannot carry another request)."""
    body = json.dumps({"detail": detail}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
