"""The background sender: delivers what the app's loop does not, in batches, with retries.

Full batches are encoded on the app's loop and, when the server answers 2xx at once, delivered
from it too (loop_encoding.py, loop_delivery.py say why). Everything else comes here: a batch
the loop sent without success (with the answer it got, so a `Retry-After` or a 401 counts as
this thread's own first attempt), the partial batches of the timed and final flushes, full
ones when no asyncio loop could take them, and whatever the loop holds at shutdown.

Why a thread with its own connection (transport.py) for that rather than a task on the app's
loop: the waits and retries of a slow or unreachable server never occupy the app's loop (it
makes one attempt per full batch, no more); the same sender serves the ASGI class and the
seed-style function (which never sees the lifespan, so could not start a task cleanly); and it
keeps running while the app's loop is shutting down, which is exactly when the final flush
happens. A batch's body is made once, never per retry.
"""

from __future__ import annotations

import enum
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from client_middleware.batch import BATCH_PATH, Attempted, Batch, batch_headers, new_batch
from client_middleware.encoding import LogEncoder, encode_records
from client_middleware.loop_encoding import EncodedBatches
from client_middleware.options import TrackingOptions
from client_middleware.recorder import RawRecord, RecordBuffer
from client_middleware.retry import backoff_delay, retry_after_seconds
from client_middleware.transport import Answer, ServerConnection, TransportError

logger = logging.getLogger("client_middleware")

# The server refuses a batch of more logs than this as a whole (413).
MAX_LOGS_PER_BATCH = 1000
# While shutting down, retries come quickly: the deadline is near anyway.
_SHUTDOWN_RETRY_DELAY = 0.2
# After a 413, bodies are halved down to this size at least (then one log per batch).
_MIN_BODY_BYTES = 1024


class Untried(enum.Enum):
    UNTRIED = "untried"


UNTRIED = Untried.UNTRIED


class Delivery(enum.Enum):
    DELIVERED = "delivered"
    REFUSED = "refused"  # a 4xx other than 401/413/429: this batch is dropped
    TOO_LARGE = "too large"  # 413 for several logs: they are sent again in smaller batches
    KEY_REJECTED = "key rejected"  # 401: nothing more will be sent
    ABANDONED = "abandoned"  # the shutdown deadline passed


class SenderControl:
    """What the tracker and one sender thread share: its wake-up, its stop and its deadline."""

    def __init__(self) -> None:
        self.wake = threading.Event()
        self.stop = threading.Event()
        self.deadline: float | None = None  # time.monotonic() by which to give up, once stopping

    def request_stop(self, timeout: float) -> None:
        self.deadline = time.monotonic() + timeout
        self.stop.set()
        self.wake.set()

    def time_left(self) -> float | None:
        if self.deadline is None:
            return None
        return self.deadline - time.monotonic()

    @property
    def abandoned(self) -> bool:
        left = self.time_left()
        return left is not None and left <= 0


# How an attempt went: a final outcome, or how long to wait before the next (None: the
# backoff decides); UNTRIED before the first.
Outcome = Delivery | float | None | Untried

# During an outage, new drops are logged at most this often (seconds).
_DROP_LOG_INTERVAL = 60.0


class DropAccount:
    """Records lost on this side (buffer full, batch refused), reported to the server once."""

    def __init__(self, buffer: RecordBuffer) -> None:
        self._buffer = buffer
        self.lost_in_sender = 0
        self.reported = 0
        self.logged = 0
        self._logged_at = -_DROP_LOG_INTERVAL

    @property
    def total(self) -> int:
        return self._buffer.dropped_total + self.lost_in_sender

    def unreported(self) -> int:
        return self.total - self.reported

    def log_new_drops(self, at_most_every: float = 0.0) -> None:
        """Log the drops not logged yet; with `at_most_every`, not more often than that."""
        total = self.total
        if total > self.logged and time.monotonic() - self._logged_at >= at_most_every:
            self._logged_at = time.monotonic()
            logger.warning(
                "analytics: %d request records dropped (%d in all): the buffer was full "
                "or the server refused a batch",
                total - self.logged,
                total,
            )
            self.logged = total


class BatchSender:
    """The body of one sender thread."""

    def __init__(
        self,
        options: TrackingOptions,
        buffer: RecordBuffer,
        encoded: EncodedBatches,
        drops: DropAccount,
        control: SenderControl,
        on_key_rejected: Callable[[], None],
        app: Callable[[], Any],
    ) -> None:
        self._options = options
        self._buffer = buffer
        self._encoded = encoded
        self._drops = drops
        self._control = control
        self._on_key_rejected = on_key_rejected
        self._encoder = LogEncoder.for_options(options, app)
        self._failing_since: float | None = None
        self._key_rejected = False

    def run(self) -> None:
        options = self._options
        self._server = ServerConnection(
            options.api_base,
            batch_headers(options.api_key),
        )
        try:
            self._loop()
        finally:
            self._server.close()

    def _loop(self) -> None:
        control = self._control
        interval = self._options.flush_interval
        next_flush = time.monotonic() + interval
        while not self._key_rejected:
            control.wake.wait(max(0.0, next_flush - time.monotonic()))
            control.wake.clear()
            stopping = control.stop.is_set()
            everything = stopping or time.monotonic() >= next_flush
            if everything:
                next_flush = time.monotonic() + interval
            self._send_waiting(everything)
            if stopping:
                return

    def _send_waiting(self, everything: bool) -> None:
        """Send every full batch waiting; with `everything`, the last partial one too."""
        batch_size = self._options.batch_size
        stopping = self._control.stop.is_set()
        while not self._control.abandoned and not self._key_rejected:
            encoded = self._next_from_loop(stopping)
            if isinstance(encoded, Batch):
                self._send_batches([encoded])
                continue
            if isinstance(encoded, Attempted):
                self._send_batches([encoded.batch], self._outcome(encoded))
                continue
            if encoded is not None:
                self._send_logs(encoded)
                continue
            waiting = len(self._buffer)
            if waiting == 0 or (waiting < batch_size and not everything):
                return
            self._send_records(self._buffer.take(batch_size))

    def _next_from_loop(self, stopping: bool) -> list[str] | Attempted | Batch | None:
        """A full batch the app's loop encoded, or one it sent without success; once stopping,
        first the one it is sending (maybe sent twice then, harmlessly: one batch_id)."""
        if stopping:
            in_flight = self._encoded.take_in_flight()
            if in_flight is not None:
                return in_flight
        return self._encoded.take()

    def _send_records(self, records: list[RawRecord]) -> None:
        self._send_logs(encode_records(self._encoder, records))

    def _send_logs(self, logs: list[str]) -> None:
        self._send_batches(self._batches(logs, self._drops.unreported()))

    def _send_batches(self, batches: list[Batch], first_outcome: Outcome = UNTRIED) -> None:
        """Deliver `batches`; `first_outcome`: how the first one's last attempt went."""
        self._drops.log_new_drops(at_most_every=_DROP_LOG_INTERVAL)
        waiting = deque(batches)
        outcome = first_outcome
        while waiting:
            batch = waiting.popleft()
            delivery = self._deliver(batch, outcome)
            outcome = UNTRIED
            if delivery is Delivery.DELIVERED:
                self._drops.reported += batch.dropped
                self._encoded.resume_loop_delivery()
            elif delivery is Delivery.TOO_LARGE:
                # Nothing of it was stored: its logs go again, as new and smaller batches.
                # The server's body limit is below ours: the loop's batches follow it too.
                self._encoded.max_body_bytes = max(_MIN_BODY_BYTES, len(batch.body) // 2)
                waiting.extendleft(reversed(self._batches(batch.logs, batch.dropped)))
            elif delivery is Delivery.REFUSED:
                self._drops.lost_in_sender += len(batch.logs)
            elif delivery is Delivery.KEY_REJECTED:
                self._key_rejected = True
                self._on_key_rejected()
                return
            else:
                left = len(batch.logs) + sum(len(b.logs) for b in waiting)
                left += len(self._encoded) + len(self._buffer)
                logger.warning("analytics: shutting down with %d request records unsent", left)
                return

    def _batches(self, logs: list[str], dropped: int) -> list[Batch]:
        """One batch, or several if it would hold more logs than the server takes at once or
        its body would be too large; the first carries `dropped`. Each gets its own batch_id."""
        if not logs:
            return []
        if len(logs) <= MAX_LOGS_PER_BATCH:
            batch = new_batch(logs, dropped)
            if len(batch.body) <= self._encoded.max_body_bytes or len(logs) == 1:
                return [batch]
        half = len(logs) // 2
        return self._batches(logs[:half], dropped) + self._batches(logs[half:], 0)

    def _deliver(self, batch: Batch, outcome: Outcome = UNTRIED) -> Delivery:
        """POST the batch until the server takes it, refuses it, or time runs out.

        Every attempt sends the same body, hence the same batch_id: the server stores a batch
        once however many times an acknowledgement got lost on the way back.
        """
        attempt = 0
        while True:
            if outcome is UNTRIED:
                if self._control.abandoned:
                    return Delivery.ABANDONED
                outcome = self._post(batch)
            if isinstance(outcome, Delivery):
                return outcome
            delay = outcome
            if delay is None:
                delay = backoff_delay(
                    attempt, self._options.retry_base_delay, self._options.max_retry_delay
                )
            attempt += 1
            self._pause(delay)
            outcome = UNTRIED

    def _outcome(self, attempted: Attempted) -> Outcome:
        """What the loop's attempt means, as if this thread had made it."""
        if isinstance(attempted.answer, str):
            self._note_failure(attempted.answer)
            return None
        return self._judge(attempted.batch, attempted.answer)

    def _post(self, batch: Batch) -> Outcome:
        """One attempt: a final outcome, or how long to wait (None: the backoff decides)."""
        timeout = self._options.timeout
        left = self._control.time_left()
        if left is not None:
            timeout = max(0.05, min(timeout, left))
        try:
            answer = self._server.post(BATCH_PATH, batch.body, timeout)
        except (TransportError, ConnectionError) as error:
            self._note_failure(str(error))
            return None
        return self._judge(batch, answer)

    def _judge(self, batch: Batch, answer: Answer) -> Outcome:
        status = answer.status
        if 200 <= status < 300:
            self._note_recovery()
            return Delivery.DELIVERED
        if status == 401:
            return Delivery.KEY_REJECTED
        if status == 429 or status >= 500:
            self._note_failure(f"HTTP {status}")
            return retry_after_seconds(answer.retry_after)
        if status == 413 and len(batch.logs) > 1:
            logger.warning(
                "analytics: the server refused a body of %d bytes as too large; "
                "sending smaller batches",
                len(batch.body),
            )
            return Delivery.TOO_LARGE
        logger.error(
            "analytics: the server refused a batch of %d records (HTTP %d: %s); dropped it",
            len(batch.logs),
            status,
            answer.text[:300],
        )
        return Delivery.REFUSED

    def _pause(self, delay: float) -> None:
        control = self._control
        if control.stop.is_set():
            left = control.time_left() or 0.0
            time.sleep(max(0.0, min(delay, _SHUTDOWN_RETRY_DELAY, left)))
        else:
            control.stop.wait(delay)  # a shutdown cuts the wait short

    def _note_failure(self, reason: str) -> None:
        if self._failing_since is None:
            self._failing_since = time.monotonic()
            logger.warning(
                "analytics: cannot deliver request records to %s (%s); retrying, "
                "keeping up to %d records meanwhile",
                self._options.api_base,
                reason,
                self._options.max_queue,
            )
        self._drops.log_new_drops(at_most_every=_DROP_LOG_INTERVAL)

    def _note_recovery(self) -> None:
        if self._failing_since is not None:
            logger.info(
                "analytics: delivering again after %.1f s",
                time.monotonic() - self._failing_since,
            )
            self._failing_since = None
