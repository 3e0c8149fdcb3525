"""Full batches encoded on the app's event loop, handed to the sender thread to deliver.

Why not let the sender thread encode them, as it does the partial batches of a timed flush:
measured side by side under uvicorn (docs/middleware.md), encoding in the thread cost the app
more than the same encoding on the loop. The thread must win the GIL from a busy loop for it
(a loop that turns often, as Starlette's `BaseHTTPMiddleware` makes it, wakes a thread waiting
for the GIL hundreds of times per batch), and it reads records made on another core. On the
loop it runs as one callback per batch, between requests, never inside one: the request path
only schedules it (`loop.call_soon`) when a batch fills.

Memory stays bounded: at most one encoded batch waits here; while it waits, further records
stay in the buffer, whose bound and drop counting are unchanged.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable
from time import monotonic
from typing import Any

from client_middleware.encoding import LogEncoder, encode_records
from client_middleware.options import TrackingOptions
from client_middleware.recorder import RecordBuffer

logger = logging.getLogger("client_middleware")

# A scheduled encoding that has not run after this long never will: its loop has stopped.
_STALE_AFTER_S = 1.0
# Larger batches are left to the thread: encoding one holds the loop at once for ~0.5 µs per
# record of a kind seen before, more for new ones (5 ms and up for 10,000 records), where the
# thread's GIL holds are cut into switch intervals (5 ms) the loop runs between.
MAX_LOOP_BATCH = 1000


class EncodedBatches:
    """Encodes full batches on the running loop; the sender takes them with `take`."""

    def __init__(
        self,
        options: TrackingOptions,
        buffer: RecordBuffer,
        app: Callable[[], Any],
        wake_sender: Callable[[], None],
    ) -> None:
        self._buffer = buffer
        self._batch_size = options.batch_size
        self._wake_sender = wake_sender
        # Its own encoder and route index: the sender thread's are used by that thread only.
        self._encoder = LogEncoder.for_options(options, app)
        self._waiting: deque[list[str]] = deque()
        # When an encoding was scheduled that has not run yet (None: none is).
        self._scheduled_at: float | None = None

    def schedule(self) -> bool:
        """From the request path, when a full batch waits in the buffer: have the running
        loop encode it soon. False when the sender should take it instead: a batch encoded
        here still waits, batches are larger than `MAX_LOOP_BATCH`, or no asyncio loop runs
        (trio, say)."""
        if self._waiting or self._batch_size > MAX_LOOP_BATCH:
            return False
        if self._scheduled_at is not None:
            if monotonic() - self._scheduled_at < _STALE_AFTER_S:
                return True  # it will run soon
            self._scheduled_at = None  # its loop stopped first (an app in a test client, say)
            return False
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return False
        self._scheduled_at = monotonic()
        loop.call_soon(self._encode)
        return True

    def take(self) -> list[str] | None:
        """The oldest encoded batch's logs, removed; None if none waits. Any thread."""
        try:
            return self._waiting.popleft()
        except IndexError:
            return None

    def clear(self) -> None:
        """Forget what waits (a rejected key, a forked child) and what was scheduled."""
        self._waiting.clear()
        self._scheduled_at = None

    def __len__(self) -> int:
        """How many logs wait encoded."""
        return sum(map(len, tuple(self._waiting)))  # a copy: the loop may append meanwhile

    def _encode(self) -> None:
        self._scheduled_at = None
        try:
            # Not once the buffer is disarmed (wake_at 0: shutting down): the sender's final
            # flush takes what is left, and must not miss a batch taken here meanwhile.
            armed = self._buffer.wake_at != 0
            if armed and not self._waiting and len(self._buffer) >= self._batch_size:
                logs = encode_records(self._encoder, self._buffer.take(self._batch_size))
                if logs:
                    self._waiting.append(logs)
        except Exception:  # never raise into the app's loop (encode_records already skips bad
            # records; this would be a bug of ours)
            logger.exception("analytics: could not encode a batch of request records")
        self._wake_sender()
