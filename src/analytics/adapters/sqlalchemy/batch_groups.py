"""Batches that queue for the SQLite writer at the same time are written in one transaction.

SQLite lets one writer in at a time, so under concurrent ingest every batch waits for the
ones before it. Whoever gets to write next takes all batches waiting by then and stores them
together: one transaction, one commit, and one set of rollup upserts for all of them, in which
the day and all-time rows (and the hour rows of adjacent batches) that several batches share
are written once instead of once per batch. Each caller still returns only once its own batch
is committed, so what a client was told is stored is visible, as before.

If a group fails, each of its batches is retried alone, so a batch only ever fails for a
reason of its own (and storage errors reach every caller, as they would have).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from analytics.domain.batches import BatchReceipt

# Logs per transaction, at most (a group takes at least one batch, however large): bounds
# the memory and the time of one transaction and the wait of the batches in it.
MAX_GROUP_LOGS = 8192


@dataclass(eq=False, slots=True)
class PendingBatch:
    """One caller's batch: raw rows of one owner, and what storing it came to."""

    owner_id: str
    rows: list[tuple[Any, ...]]
    receipt: BatchReceipt | None
    stored: int = 0
    error: BaseException | None = None
    done: threading.Event = field(default_factory=threading.Event)


# Stores the batches in one transaction; returns each one's count, in order.
StoreGroup = Callable[[Sequence[PendingBatch]], list[int]]


class BatchGroups:
    """Stores each batch in a group with the batches waiting at the same time."""

    def __init__(self, store_group: StoreGroup) -> None:
        self._store_group = store_group
        self._waiting: list[PendingBatch] = []
        self._waiting_lock = threading.Lock()
        self._writer_lock = threading.Lock()  # one thread stores groups at a time

    def store(self, batch: PendingBatch) -> int:
        with self._waiting_lock:
            self._waiting.append(batch)
        with self._writer_lock:
            # A writer before us may have stored this batch with its group meanwhile.
            while not batch.done.is_set():
                self._store(self._next_group())
        if batch.error is not None:
            raise batch.error
        return batch.stored

    def _next_group(self) -> list[PendingBatch]:
        with self._waiting_lock:
            taken = 0
            logs = 0
            for batch in self._waiting:
                if taken and logs + len(batch.rows) > MAX_GROUP_LOGS:
                    break
                taken += 1
                logs += len(batch.rows)
            group = self._waiting[:taken]
            del self._waiting[:taken]
        return group

    def _store(self, group: list[PendingBatch]) -> None:
        try:
            counts = self._store_group(group)
        except Exception as error:
            if len(group) == 1:
                _finish(group[0], error=error)
                return
            for batch in group:
                self._store([batch])
            return
        except BaseException as error:  # e.g. KeyboardInterrupt: no caller may wait forever
            for batch in group:
                _finish(batch, error=error)
            raise
        for batch, count in zip(group, counts, strict=True):
            _finish(batch, stored=count)


def _finish(batch: PendingBatch, stored: int = 0, error: BaseException | None = None) -> None:
    batch.stored = stored
    batch.error = error
    batch.done.set()
