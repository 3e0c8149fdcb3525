"""What the request path hands over: one small tuple per request, into a bounded buffer.

Nothing here does I/O, formats text or takes a lock the request path would wait on: the
buffer is a `deque` (append and popleft are atomic under the GIL) and the only other work is
comparing its length. Turning the tuple into JSON is the sender's job, on its own thread.
"""

from __future__ import annotations

import operator
from collections import deque
from collections.abc import Callable
from itertools import repeat
from typing import Any

# The tuple the request path appends, field by field. A plain tuple is the cheapest thing to
# build, and every field is a str, int, float, None or a tuple of bytes: a record holds no
# reference to the request's objects, so the garbage collector soon stops tracking it and a
# buffer of thousands of them never makes the app's collections slower.
CREATED_AT = 0  # float, seconds since the epoch (time.time()) when the request arrived
METHOD = 1  # str
PATH = 2  # str, the path as received (root_path included)
STATUS = 3  # int
ROUTE_ID = 4  # int, id() of the route object the router matched (scope["route"])
ROUTE_PATH_FORMAT = 5  # str | None, that route's path_format (None: no route matched)
ROOT_PATH = 6  # str, scope["root_path"] when the request reached the middleware
MOUNTED_ROOT_PATH = 7  # str, scope["root_path"] after routing (grows by each Mount passed)
CLIENT_HOST = 8  # str | None, scope["client"][0]
CONSUMER = 9  # str | None, from the user's callback
DURATION = 10  # float, seconds until the final body message (or until the app returned)
HEADERS = 11  # tuple of (name, value) bytes pairs, read later for User-Agent, X-Forwarded-For
# METHOD to CONSUMER, one slice, are what a log is made of but its times and headers: the
# encoder's cache key.
DESCRIPTION = slice(METHOD, CONSUMER + 1)

RawRecord = tuple[
    float, str, str, int, int, "str | None", str, str, "str | None", "str | None", float, Any
]


class RecordBuffer:
    """A bounded FIFO of raw records; when full, the oldest record is dropped and counted.

    Only the request path appends and only the sender takes, so `dropped_total` has a single
    writer and needs no lock: the sender reads it and keeps its own count of what it reported.
    """

    def __init__(self, max_queue: int, batch_size: int, wake: Callable[[], None]) -> None:
        # The request path appends here directly while its length is below `direct_below`
        # (one C call instead of a method call); `append` handles the rest.
        self.records: deque[RawRecord] = deque(maxlen=max_queue)
        self._records = self.records
        self._max_queue = max_queue
        self._batch_size = batch_size
        self._wake = wake
        # The length at which `append` calls `wake`: the batch size normally, 0 when the
        # sender must be (re)started first (never started yet, after fork, after shutdown).
        self.wake_at = 0
        self.direct_below = -1  # wake_at - 1: the record appended there reaches wake_at
        self.dropped_total = 0

    def append(self, record: RawRecord) -> None:
        """Append, counting a drop when full and waking the sender at `wake_at`.

        The request path calls this only from `direct_below` on; below it, appending to
        `records` is all this would do."""
        records = self._records
        if len(records) >= self._max_queue:
            self.dropped_total += 1
        records.append(record)
        if len(records) >= self.wake_at:
            self._wake()

    def arm(self) -> None:
        """The sender runs: wake it only once a full batch waits (or the buffer is full, so
        that a drop is counted)."""
        self.wake_at = min(self._batch_size, self._max_queue)
        self.direct_below = self.wake_at - 1

    def disarm(self) -> None:
        """The sender must be started again before it can be woken: the next append does so."""
        self.wake_at = 0
        self.direct_below = -1

    def take(self, limit: int) -> list[RawRecord]:
        """Up to `limit` of the oldest records, removed from the buffer."""
        records = self._records
        # A loop in C (popleft called `count` times), not in Python: this runs per record.
        count = min(limit, len(records))
        try:
            return list(map(operator.call, repeat(records.popleft, count)))
        except IndexError:  # emptied meanwhile (only after fork, by clear(): nothing to keep)
            return []

    def clear(self) -> None:
        self._records.clear()

    def __len__(self) -> int:
        return len(self._records)
