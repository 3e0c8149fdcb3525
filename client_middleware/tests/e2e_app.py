"""The client app of `tests/e2e/test_middleware_e2e.py`: every kind of route, tracked by the
middleware flavour FLAVOUR (asgi | function) with key ANALYTICS_TEST_KEY, sending to API_BASE
(read from the environment, as the seed does). /health is excluded: it is the readiness probe.
"""

from __future__ import annotations

import os

from fastapi import FastAPI, Request

from client_middleware import AnalyticsMiddleware
from client_middleware.middleware import create_tracking_middleware
from client_middleware.tests.apps import every_route_app


def consumer(request: Request) -> str | None:
    return request.headers.get("x-client")


def create_app() -> FastAPI:
    app = every_route_app()
    options = {
        "api_key": os.environ["ANALYTICS_TEST_KEY"],
        "exclude_paths": ["/health"],
        "consumer": consumer,
        "batch_size": 10,  # several batches during the run, the rest at shutdown
    }
    if os.environ.get("FLAVOUR") == "function":
        app.middleware("http")(create_tracking_middleware(**options))
    else:
        app.add_middleware(AnalyticsMiddleware, **options)
    return app
