"""The core both middleware flavours share: the buffer, the sender thread and their lifecycle."""

from __future__ import annotations

import atexit
import logging
import os
import threading
import weakref
from collections.abc import Callable
from typing import Any

from client_middleware.batch import BATCH_PATH
from client_middleware.loop_delivery import LoopDelivery
from client_middleware.loop_encoding import EncodedBatches
from client_middleware.options import TrackingOptions
from client_middleware.recorder import RecordBuffer
from client_middleware.sender import BatchSender, DropAccount, SenderControl
from client_middleware.shutdown import hook_server_shutdown

logger = logging.getLogger("client_middleware")


class Tracker:
    """Owns one process's buffer and sender thread.

    The request path calls `record` (= `RecordBuffer.append`) and reads `active`; everything
    else here runs at start-up, shutdown, fork, or from the sender thread.
    """

    def __init__(self, options: TrackingOptions) -> None:
        self.options = options
        self.active = options.enabled
        self.buffer = RecordBuffer(options.max_queue, options.batch_size, self._wake)
        self.record = self.buffer.append
        self.drops = DropAccount(self.buffer)
        delivery = LoopDelivery(options.api_base, options.api_key, BATCH_PATH, options.timeout)
        self.encoded = EncodedBatches(
            options,
            self.buffer,
            self.routed_app,
            self._wake_sender,
            self._unreported_drops,
            delivery if delivery.usable else None,
        )
        self.shutdown_hooked = False  # a lifespan or server hook will call shutdown()
        # The app whose routes name the endpoints: set from the lifespan or the first request,
        # else found by `find_app` (the ASGI class looks down its middleware chain).
        self.app: Any = None
        self.find_app: Callable[[], Any] = lambda: None
        self._control = SenderControl()
        self._thread: threading.Thread | None = None
        self._pid = os.getpid()
        self._lock = threading.Lock()
        self._key_rejection_logged = False
        _after_fork_and_exit(self)

    # -- the sender's lifecycle -------------------------------------------------------------

    def start(self) -> None:
        """Start the sender thread unless it runs (in this process) already. Idempotent."""
        if not self.active:
            return
        with self._lock:
            if self._pid != os.getpid():  # forked without the at-fork hook having run
                self._reset_after_fork()
            thread = self._thread
            if thread is not None and thread.is_alive() and not self._control.stop.is_set():
                self.buffer.arm()
                return
            # A sender still finishing a shutdown flush keeps its own control and ends alone.
            control = self._control = SenderControl()
            sender = BatchSender(
                self.options,
                self.buffer,
                self.encoded,
                self.drops,
                control,
                self._key_rejected,
                self.routed_app,
            )
            self._thread = threading.Thread(
                target=_run_sender, args=(sender,), name="analytics-sender", daemon=True
            )
            self._thread.start()
            self.buffer.arm()

    def shutdown(self, timeout: float | None = None) -> bool:
        """Flush what the buffer holds and stop the sender, within `timeout` seconds.

        Returns True when everything was delivered. A request recorded afterwards starts a new
        sender, so an app whose lifespan runs twice (tests do that) keeps being tracked.
        """
        timeout = self.options.shutdown_timeout if timeout is None else timeout
        if self.active and self.unsent():
            self.start()  # a sender to do the flushing, if none runs
        with self._lock:
            thread, control = self._thread, self._control
            self.buffer.disarm()
        if thread is None or not thread.is_alive():
            return self.unsent() == 0
        control.request_stop(timeout)
        thread.join(timeout + 0.5)
        return self.unsent() == 0 and not thread.is_alive()

    def unsent(self) -> int:
        """Records not handed to the server yet (but a batch the sender is delivering)."""
        return len(self.buffer) + len(self.encoded)

    def routed_app(self) -> Any:
        if self.app is None:
            self.app = self.find_app()
        return self.app

    def _wake(self) -> None:
        """Called by `RecordBuffer.append` when a batch is full or the sender must start."""
        if self.buffer.wake_at == 0:
            self.start()
            if not self.shutdown_hooked:  # no lifespan seen: hook the server (first request)
                hook_server_shutdown(self)
        if len(self.buffer) >= self.options.batch_size and self.encoded.schedule():
            return  # the app's loop encodes the batch, then wakes the sender
        self._wake_sender()

    def _unreported_drops(self) -> int:
        return self.drops.unreported()

    def _wake_sender(self) -> None:
        wake = self._control.wake
        if not wake.is_set():
            wake.set()

    def _key_rejected(self) -> None:
        self.active = False
        self.buffer.clear()
        self.encoded.clear()
        if not self._key_rejection_logged:
            self._key_rejection_logged = True
            logger.error(
                "analytics: the server rejected the API key (HTTP 401); tracking stopped. "
                "Check api_key and api_base (%s).",
                self.options.api_base,
            )

    def _reset_after_fork(self) -> None:
        """In a forked child: the parent's thread did not come along, its records stay its own."""
        self._pid = os.getpid()
        self._lock = threading.Lock()
        self._control = SenderControl()
        self._thread = None
        self.buffer.clear()
        self.encoded.clear()
        self.buffer.dropped_total = 0
        self.drops = DropAccount(self.buffer)
        self.buffer.disarm()


def _run_sender(sender: BatchSender) -> None:
    try:
        sender.run()
    except Exception:  # never let the thread die silently
        logger.exception("analytics: the sender stopped unexpectedly")


def _after_fork_and_exit(tracker: Tracker) -> None:
    """Fork and interpreter-exit hooks that do not keep the tracker alive."""
    reference = weakref.ref(tracker)

    def reset_in_child() -> None:
        live = reference()
        if live is not None:
            live._reset_after_fork()

    def flush_at_exit() -> None:
        # Only a fallback: uvicorn's SIGTERM path ends the process without running atexit;
        # the lifespan (or server) hook is what normally flushes.
        live = reference()
        if live is not None and live._pid == os.getpid() and live.unsent():
            live.shutdown()

    os.register_at_fork(after_in_child=reset_in_child)
    atexit.register(flush_at_exit)
