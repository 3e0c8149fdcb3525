"""Flushing at shutdown: the ASGI lifespan when we see it, else the server's own shutdown.

uvicorn handles SIGTERM by shutting down gracefully and then re-raising the signal with its
default action, which ends the process without running `atexit` handlers. So the flush must
happen inside the server's shutdown sequence:

- `AnalyticsMiddleware` sees the lifespan and flushes when the app reports
  `lifespan.shutdown.complete`: after uvicorn has drained every connection.
- The seed-style function (a `BaseHTTPMiddleware` dispatch function) never sees the lifespan,
  which has started long before its first request. When uvicorn runs it, the handler uvicorn
  installed for SIGTERM is a method of its `Server`; its `shutdown` coroutine (drain the
  connections, run the lifespan shutdown) is wrapped so that the flush follows it. Other
  servers get the `atexit` fallback only; the ASGI class is the portable choice there.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import signal
from collections.abc import Callable
from typing import Any, Protocol

logger = logging.getLogger("client_middleware")


class Flushable(Protocol):
    shutdown_hooked: bool

    def shutdown(self, timeout: float | None = None) -> bool: ...


async def flush_off_loop(flush: Callable[[], object]) -> None:
    """Run the blocking flush in a worker thread so the loop can finish its own shutdown."""
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:  # not asyncio (trio, say): block, shutdown is all that is left to do
        flush()
        return
    await loop.run_in_executor(None, flush)


def hook_server_shutdown(tracker: Flushable) -> None:
    """Make the running server's shutdown flush `tracker` (uvicorn; `atexit` covers the rest)."""
    tracker.shutdown_hooked = True  # one attempt per tracker
    server = _uvicorn_server()
    if server is None:
        logger.debug("analytics: no server shutdown hook; relying on atexit to flush")
        return
    shutdown_server = server.shutdown

    async def shutdown_then_flush(*args: Any, **kwargs: Any) -> None:
        try:
            await shutdown_server(*args, **kwargs)
        finally:
            await flush_off_loop(tracker.shutdown)

    server.shutdown = shutdown_then_flush


def _uvicorn_server() -> Any | None:
    try:
        handler = signal.getsignal(signal.SIGTERM)
    except (ValueError, OSError):  # pragma: no cover - platforms without SIGTERM
        return None
    server = getattr(handler, "__self__", None)
    if server is None or not type(server).__module__.startswith("uvicorn"):
        return None
    if not inspect.iscoroutinefunction(getattr(server, "shutdown", None)):
        return None
    return server
