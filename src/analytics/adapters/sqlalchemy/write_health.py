"""Whether writes to a database are failing: what a health check's read cannot see.

On a full disk SQLite (and PostgreSQL) still answer reads, so `SELECT 1` says all is well
while every batch gets 503. So each engine remembers its last write's outcome: after a
write failed for want of storage, health reports unavailable until a write succeeds again
or `FAILURE_HOLD_S` pass without another failure (then a load balancer sends traffic back,
and the next write tells). The server itself never needs a restart.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from weakref import WeakKeyDictionary

from sqlalchemy.engine import Engine

from analytics.application.errors import StorageUnavailable

FAILURE_HOLD_S = 30.0


class WriteHealth:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._failed_at: float | None = None

    @contextmanager
    def watching(self) -> Iterator[None]:
        """Record how the write in the block ends: failed for want of storage, or done."""
        try:
            yield
        except StorageUnavailable:
            self._failed_at = self._clock()
            raise
        self._failed_at = None

    def failing(self) -> bool:
        failed_at = self._failed_at
        return failed_at is not None and self._clock() - failed_at < FAILURE_HOLD_S


_of_engine: WeakKeyDictionary[Engine, WriteHealth] = WeakKeyDictionary()
_guard = threading.Lock()


def write_health(engine: Engine) -> WriteHealth:
    """The engine's WriteHealth (one per engine and process)."""
    with _guard:
        health = _of_engine.get(engine)
        if health is None:
            health = _of_engine[engine] = WriteHealth()
        return health
