"""The hello-world apps `bench/middleware.py` loads: one per variant, chosen by environment.

    BENCH_VARIANT = bare | asgi | seed | noop     BENCH_COLLECTOR = http://127.0.0.1:PORT

Run by uvicorn with `--factory bench.middleware_app:create_app`. `collector_app` is the local
stand-in for the analytics server: it accepts every batch without storing it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from fastapi import FastAPI, Request, Response

from client_middleware import AnalyticsMiddleware
from client_middleware.middleware import create_tracking_middleware

VARIANTS = ("bare", "asgi", "seed", "noop")
API_KEY = "bench-key"


def create_app() -> FastAPI:
    variant = os.environ.get("BENCH_VARIANT", "bare")
    collector = os.environ.get("BENCH_COLLECTOR", "http://127.0.0.1:9")
    # Extra middleware options as JSON, for experiments (e.g. '{"batch_size": 100}').
    options = json.loads(os.environ.get("BENCH_OPTIONS", "{}"))
    app = FastAPI()

    @app.get("/")
    async def hello() -> dict[str, str]:
        return {"message": "Hello World"}

    if variant == "asgi":
        app.add_middleware(AnalyticsMiddleware, api_key=API_KEY, api_base=collector, **options)
    elif variant == "seed":
        track = create_tracking_middleware(api_key=API_KEY, api_base=collector, **options)
        app.middleware("http")(track)
    elif variant == "noop":

        @app.middleware("http")
        async def do_nothing(request: Request, call_next: Callable[..., Any]) -> Response:
            return await call_next(request)

    elif variant != "bare":
        raise ValueError(f"BENCH_VARIANT must be one of {VARIANTS}")
    return app


Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]


async def collector_app(
    scope: Scope,
    receive: Callable[[], Awaitable[Message]],
    send: Callable[[Message], Awaitable[None]],
) -> None:
    """Answers every batch 202 {"accepted": n}; counts logs without parsing (cheap on CPU)."""
    if scope["type"] != "http":
        while (message := await receive())["type"] != "lifespan.shutdown":
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})
        return
    body = b""
    more = True
    while more:
        message = await receive()
        body += message.get("body", b"")
        more = message.get("more_body", False)
    answer = json.dumps({"accepted": body.count(b'"method":')}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 202,
            # With its length, as the analytics server answers: the connection is kept.
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(answer)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": answer})
