"""Full batches encoded on the app's event loop, and delivered from it when all goes well.

Why not let the sender thread encode them, as it does the partial batches of a timed flush:
measured side by side under uvicorn (docs/middleware.md), encoding in the thread cost the app
more than the same encoding on the loop. The thread must win the GIL from a busy loop for it
(a loop that turns often, as Starlette's `BaseHTTPMiddleware` makes it, wakes a thread waiting
for the GIL hundreds of times per batch), and it reads records made on another core. On the
loop it runs as one callback per batch, between requests, never inside one: the request path
only schedules it (`loop.call_soon`) when a batch fills.

Delivering them from the loop too spares the thread's wake-ups (loop_delivery.py says why);
what the loop cannot deliver it hands to the thread.

Memory stays bounded: at most one batch is in flight from the loop and one waits for the
thread; meanwhile further records stay in the buffer, whose bound and drop counting are
unchanged.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
from collections import deque
from collections.abc import Callable
from time import monotonic
from typing import Any

from client_middleware.batch import Attempted, Batch, new_batch
from client_middleware.encoding import LogEncoder, encode_records
from client_middleware.loop_delivery import LoopDelivery
from client_middleware.options import TrackingOptions
from client_middleware.recorder import RecordBuffer
from client_middleware.transport import Answer

logger = logging.getLogger("client_middleware")

# A scheduled encoding that has not run after this long never will: its loop has stopped.
_STALE_AFTER_S = 1.0
# Larger batches are left to the thread: encoding one holds the loop at once for ~0.5 µs per
# record of a kind seen before, more for new ones (5 ms and up for 10,000 records), where the
# thread's GIL holds are cut into switch intervals (5 ms) the loop runs between.
MAX_LOOP_BATCH = 1000


class EncodedBatches:
    """Encodes full batches on the running loop and delivers them from it; the sender takes
    what waits for it with `take`."""

    def __init__(
        self,
        options: TrackingOptions,
        buffer: RecordBuffer,
        app: Callable[[], Any],
        wake_sender: Callable[[], None],
        unreported_drops: Callable[[], int],
        delivery: LoopDelivery | None,
    ) -> None:
        self._buffer = buffer
        self._batch_size = options.batch_size
        # The largest body to send: lowered by the thread when the server answers 413.
        self.max_body_bytes = options.max_body_bytes
        self._wake_sender = wake_sender
        self._unreported_drops = unreported_drops
        # Its own encoder and route index: the sender thread's are used by that thread only.
        self._encoder = LogEncoder.for_options(options, app)
        self._delivery = delivery  # None: the thread delivers everything
        # For the thread: encoded logs, or a batch the loop sent without success.
        self._waiting: deque[list[str] | Attempted] = deque()
        # The batch the loop is delivering; whoever removes it from here owns it.
        self._in_flight: deque[Batch] = deque()
        self._delivering: asyncio.Task[None] | None = None
        # After an attempt that failed, the loop leaves batches to the thread until the thread
        # has delivered one: a failing server gets no extra requests, and batches keep order.
        self._failed = False
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
        # In a context of its own, not the request's: the batch is nobody's request, and a
        # task started from the request's context would carry its tracing spans and, under
        # anyio, its cancel scopes.
        loop.call_soon(self._encode, context=contextvars.Context())
        return True

    def take(self) -> list[str] | Attempted | None:
        """What waits for the thread, oldest first and removed; None if nothing. Any thread."""
        try:
            return self._waiting.popleft()
        except IndexError:
            return None

    def take_in_flight(self) -> Batch | None:
        """The batch the loop is delivering, taken over (at shutdown: its loop may be gone).
        Look here before `take`: a batch the loop failed to deliver is put there first."""
        try:
            return self._in_flight.popleft()
        except IndexError:
            return None

    def resume_loop_delivery(self) -> None:
        """The thread delivered a batch: the server takes them again."""
        self._failed = False

    def clear(self) -> None:
        """Forget what waits (a rejected key, a forked child) and what was scheduled."""
        self._waiting.clear()
        self._in_flight.clear()
        self._scheduled_at = None
        self._failed = False
        if self._delivery is not None:
            self._delivery.forget()

    def __len__(self) -> int:
        """How many logs wait encoded, or are being delivered from the loop."""
        items = (*self._waiting, *self._in_flight)  # a copy: the loop may change them meanwhile
        return sum(len(_logs_of(item)) for item in items)

    def _encode(self) -> None:
        self._scheduled_at = None
        try:
            # Not once the buffer is disarmed (wake_at 0: shutting down): the sender's final
            # flush takes what is left, and must not miss a batch taken here meanwhile.
            armed = self._buffer.wake_at != 0
            if armed and not self._waiting and len(self._buffer) >= self._batch_size:
                logs = encode_records(self._encoder, self._buffer.take(self._batch_size))
                if logs and self._deliver_from_loop(logs):
                    return
                if logs:
                    self._waiting.append(logs)
        except Exception:  # never raise into the app's loop (encode_records already skips bad
            # records; this would be a bug of ours)
            logger.exception("analytics: could not encode a batch of request records")
        self._wake_sender()

    def _deliver_from_loop(self, logs: list[str]) -> bool:
        """Start delivering `logs` from the loop; False leaves them to the thread: another
        batch is in flight, the last attempt failed, drops wait to be reported (the thread
        counts them), or the body is too large (the thread splits it)."""
        delivery = self._delivery
        if delivery is None or self._in_flight or self._failed or self._unreported_drops():
            return False
        batch = new_batch(logs, 0)
        if len(batch.body) > self.max_body_bytes:
            return False
        self._in_flight.append(batch)
        task = asyncio.get_running_loop().create_task(self._deliver(delivery, batch))
        self._delivering = task  # the loop keeps only a weak reference to its tasks
        return True

    async def _deliver(self, delivery: LoopDelivery, batch: Batch) -> None:
        answer: Answer | str = "not sent"
        try:
            answer = await delivery.post(batch.body)
        except asyncio.CancelledError:  # the loop is closing (a test client's, say)
            self._done(batch, "the event loop stopped before the answer came")
            raise
        except Exception:  # a bug of ours: the thread will try
            logger.exception("analytics: could not deliver a batch from the event loop")
        self._done(batch, answer)

    def _done(self, batch: Batch, answer: Answer | str) -> None:
        """The loop's attempt ended: anything but a 2xx goes to the thread."""
        if isinstance(answer, str) or not 200 <= answer.status < 300:
            self._failed = True
            # Handed over before it leaves the in-flight slot: a sender looking there first,
            # then here (as it does when stopping), finds it in one or the other. At worst it
            # sends it twice, harmlessly: one batch_id.
            self._waiting.append(Attempted(batch, answer))
            self._wake_sender()
        with contextlib.suppress(ValueError):  # ValueError: the sender took it over
            self._in_flight.remove(batch)


def _logs_of(item: list[str] | Attempted | Batch) -> list[str]:
    if isinstance(item, Attempted):
        return item.batch.logs
    return item.logs if isinstance(item, Batch) else item
