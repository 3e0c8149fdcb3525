"""The host app `test_shutdown.py` runs in a uvicorn subprocess and stops with SIGTERM.

Environment: FLAVOUR (asgi | function), ANALYTICS_TEST_KEY, and API_BASE as the seed reads
it (from the environment or a `.env` file in the working directory). Nothing is sent before
shutdown (huge batch, long interval), so whatever arrives was flushed at shutdown.
"""

from __future__ import annotations

import os

from fastapi import FastAPI

from client_middleware import AnalyticsMiddleware
from client_middleware.middleware import create_tracking_middleware

HOLD_UNTIL_SHUTDOWN = {"batch_size": 100_000, "flush_interval": 3600.0, "max_queue": 100_000}


def create_app() -> FastAPI:
    app = FastAPI()

    @app.get("/")
    async def root() -> dict[str, int]:
        return {"pid": os.getpid()}

    @app.get("/n/{number}")
    async def numbered(number: int) -> dict[str, int]:
        return {"number": number, "pid": os.getpid()}

    api_key = os.environ["ANALYTICS_TEST_KEY"]
    if os.environ.get("FLAVOUR") == "function":
        # The seed's call, unchanged (API_BASE from the environment or .env).
        app.middleware("http")(create_tracking_middleware(api_key=api_key, **HOLD_UNTIL_SHUTDOWN))
    else:
        app.add_middleware(AnalyticsMiddleware, api_key=api_key, **HOLD_UNTIL_SHUTDOWN)
    return app
