"""Install either middleware flavour on a host app, serve it, flush when done."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from fastapi import FastAPI

from client_middleware import AnalyticsMiddleware, create_tracking_middleware
from client_middleware.tests.servers import ThreadedServer
from client_middleware.tracker import Tracker

FLAVOURS = ("asgi", "function")


def install(app: FastAPI, flavour: str, **options: Any) -> Tracker | None:
    """Add the middleware; for the function flavour return its tracker (the class's tracker
    is created when Starlette builds the middleware stack)."""
    if flavour == "asgi":
        app.add_middleware(AnalyticsMiddleware, **options)
        return None
    track = create_tracking_middleware(**options)
    app.middleware("http")(track)
    return track.tracker  # type: ignore[attr-defined]


class Hosted:
    def __init__(self, server: ThreadedServer, app: FastAPI, tracker: Tracker | None) -> None:
        self.url = server.url
        self._app = app
        self._tracker = tracker

    @property
    def tracker(self) -> Tracker:
        return self._tracker or middleware_tracker(self._app)


@contextlib.contextmanager
def serving(app: FastAPI, flavour: str, **options: Any) -> Iterator[Hosted]:
    """Serve `app` with the middleware; on exit stop the server and flush.

    The ASGI class flushes in the lifespan shutdown; the function hooks uvicorn's shutdown
    only when uvicorn runs in the main thread (signal handlers), which a test server in a
    thread does not, so its tracker is flushed here.
    """
    tracker = install(app, flavour, **options)
    with ThreadedServer(app) as server:
        yield Hosted(server, app, tracker)
    if tracker is not None:
        tracker.shutdown()


def middleware_tracker(app: FastAPI) -> Tracker:
    """The tracker of the AnalyticsMiddleware in a started app's middleware stack."""
    layer: Any = app.middleware_stack
    while layer is not None:
        if isinstance(layer, AnalyticsMiddleware):
            return layer.tracker
        layer = getattr(layer, "app", None)
    raise LookupError("no AnalyticsMiddleware in the stack")
