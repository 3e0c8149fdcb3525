"""The seed's call, unchanged:

    from client_middleware.middleware import create_tracking_middleware
    app.middleware("http")(create_tracking_middleware(api_key="..."))

with `API_BASE` from the environment or `.env`. It records exactly what `AnalyticsMiddleware`
records, through the same core, but Starlette's `BaseHTTPMiddleware` (which every
`app.middleware("http")` function runs in) costs far more than the tracking itself, so
`AnalyticsMiddleware` is the recommended way.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from time import perf_counter, time
from typing import Any

from client_middleware.consumer import ConsumerOf
from client_middleware.exclusion import excluded_paths, route_path
from client_middleware.options import resolve_options
from client_middleware.recorder import RawRecord
from client_middleware.tracker import Tracker

CallNext = Callable[[Any], Awaitable[Any]]
TrackRequest = Callable[[Any, CallNext], Awaitable[Any]]


def create_tracking_middleware(
    api_key: str | None = None, api_base: str | None = None, **options: Any
) -> TrackRequest:
    """A `dispatch` function for `app.middleware("http")`; options as `AnalyticsMiddleware`."""
    tracker = Tracker(resolve_options(api_key, api_base, **options))
    record = tracker.record
    is_excluded = excluded_paths(tracker.options.exclude_paths)
    consumer_of = None if tracker.options.consumer is None else ConsumerOf(tracker.options.consumer)

    async def track_request(request: Any, call_next: CallNext) -> Any:
        scope = request.scope
        root_path = scope.get("root_path", "")
        if not tracker.active or (
            is_excluded is not None and is_excluded(route_path(scope["path"], root_path))
        ):
            return await call_next(request)
        if tracker.app is None:
            tracker.app = scope.get("app")
        created_at = time()
        started = perf_counter()

        def finished(status: int) -> RawRecord:
            route = scope.get("route")
            client = scope.get("client")
            return (
                created_at, scope["method"], scope["path"], status, id(route),
                getattr(route, "path_format", None), root_path,
                scope.get("root_path", root_path), client[0] if client else None,
                consumer_of and consumer_of(request), perf_counter() - started,
                tuple(scope["headers"]),
            )  # fmt: skip

        try:
            response = await call_next(request)
        except Exception:
            record(finished(500))
            raise
        # The clock stops when the body has been sent, as in the ASGI class.
        response.body_iterator = _then(
            response.body_iterator, finished, response.status_code, record
        )
        return response

    track_request.tracker = tracker  # type: ignore[attr-defined]  # for shutdown and tests
    return track_request


async def _then(
    body: AsyncIterator[Any],
    finished: Callable[[int], RawRecord],
    status: int,
    record: Callable[[RawRecord], None],
) -> AsyncIterator[Any]:
    try:
        async for chunk in body:
            yield chunk
    finally:
        record(finished(status))
