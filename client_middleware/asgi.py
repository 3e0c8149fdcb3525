"""`AnalyticsMiddleware`: the pure ASGI middleware, the fast and recommended way.

    app.add_middleware(AnalyticsMiddleware, api_key="...", api_base="https://...")

Per request it reads the clock twice, wraps `send` to see the status and the final body
message, and appends one tuple to a bounded deque. No I/O, no JSON, no locks on the way.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from time import perf_counter, time
from typing import Any

from client_middleware.consumer import ConsumerOf
from client_middleware.exclusion import excluded_paths, route_path
from client_middleware.options import ConsumerCallback, IpPrivacy, resolve_options
from client_middleware.shutdown import flush_off_loop
from client_middleware.tracker import Tracker

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class AnalyticsMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        api_key: str | None = None,
        api_base: str | None = None,
        *,
        exclude_paths: Iterable[str] = (),
        batch_size: int = 500,
        flush_interval: float = 5.0,
        max_queue: int = 10_000,
        timeout: float = 5.0,
        shutdown_timeout: float = 5.0,
        ip_privacy: IpPrivacy = "full",
        trusted_proxies: Iterable[str] = (),
        consumer: ConsumerCallback | None = None,
        enabled: bool = True,
        **advanced: Any,
    ) -> None:
        options = resolve_options(
            api_key,
            api_base,
            exclude_paths=exclude_paths,
            batch_size=batch_size,
            flush_interval=flush_interval,
            max_queue=max_queue,
            timeout=timeout,
            shutdown_timeout=shutdown_timeout,
            ip_privacy=ip_privacy,
            trusted_proxies=trusted_proxies,
            consumer=consumer,
            enabled=enabled,
            **advanced,
        )
        self.app = app
        self.tracker = Tracker(options)
        self.tracker.find_app = self._routed_app
        self._buffer = self.tracker.buffer
        self._records = self.tracker.buffer.records
        self._is_excluded = excluded_paths(options.exclude_paths)
        self._consumer_of = _request_consumer(options.consumer)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.tracker.active:
            if scope["type"] == "lifespan":
                await self._lifespan(scope, receive, send)
            else:
                await self.app(scope, receive, send)
            return
        root_path = scope.get("root_path", "")
        if self._is_excluded is not None and self._is_excluded(
            route_path(scope["path"], root_path)
        ):
            await self.app(scope, receive, send)
            return

        created_at = time()
        started = perf_counter()
        status = 500  # what the client gets if the app never starts a response
        finished = 0.0

        def send_and_watch(message: Message) -> Awaitable[None]:
            # A plain function handing back `send`'s awaitable: no coroutine of our own per
            # message. The clock stops as the final body message goes out.
            nonlocal status, finished
            kind = message["type"]
            if kind == "http.response.start":
                status = message["status"]
            elif kind == "http.response.body":
                if not message.get("more_body", False):
                    finished = perf_counter()
            elif kind == "http.response.pathsend":
                finished = perf_counter()
            return send(message)

        try:
            await self.app(scope, receive, send_and_watch)
        finally:  # an exception propagates untouched; its request is recorded as it ended
            route = scope.get("route")
            client = scope.get("client")
            consumer_of = self._consumer_of
            record = (
                created_at, scope["method"], scope["path"], status, id(route),
                getattr(route, "path_format", None), root_path,
                scope.get("root_path", root_path), client[0] if client else None,
                consumer_of and consumer_of(scope), (finished or perf_counter()) - started,
                tuple(scope["headers"]),
            )  # fmt: skip
            records = self._records
            if len(records) < self._buffer.direct_below:
                records.append(record)  # the common case, without a Python call
            else:
                self._buffer.append(record)

    async def _lifespan(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Start the sender at start-up; flush before the server hears shutdown is complete."""
        tracker = self.tracker
        tracker.shutdown_hooked = True
        tracker.app = scope.get("app") or tracker.app

        async def send_and_flush(message: Message) -> None:
            kind = message["type"]
            if kind == "lifespan.startup.complete":
                tracker.start()
            elif kind in ("lifespan.shutdown.complete", "lifespan.shutdown.failed"):
                await flush_off_loop(tracker.shutdown)
            await send(message)

        await self.app(scope, receive, send_and_flush)

    def _routed_app(self) -> Any:
        """The first app down the middleware chain that has routes (no lifespan seen)."""
        app: Any = self.app
        for _ in range(32):
            if app is None or hasattr(app, "routes"):
                return app
            app = getattr(app, "app", None)
        return None


def _request_consumer(callback: ConsumerCallback | None) -> Callable[[Scope], str | None] | None:
    if callback is None:
        return None
    from starlette.requests import Request  # only needed, and only imported, with a callback

    consumer_of = ConsumerOf(callback)

    def consumer_of_scope(scope: Scope) -> str | None:
        return consumer_of(Request(scope))

    return consumer_of_scope
