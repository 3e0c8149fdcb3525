"""Use case: the background expiry of old raw logs (retention) and old batch ids."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from analytics.application.ports import BatchIdExpiry, Clock, ExpiryLock, RawLogRetention
from analytics.domain.batches import BATCH_IDS_KEPT_FOR

# Small transactions: ingest never waits long behind a deletion.
DEFAULT_BATCH_SIZE = 5_000


@dataclass(frozen=True, slots=True)
class ExpiryReport:
    raw_logs_deleted: int = 0
    batch_ids_forgotten: int = 0
    skipped: bool = False  # another process was running the expiry of this storage


def _always() -> bool:
    return True


class ExpireOldData:
    """One run at a time per storage. Every server process (`--workers N`, several hosts)
    runs the expiry on its own schedule; two runs at once would both go for the same oldest
    rows (on PostgreSQL the second waits on the first's row locks to find them gone), which
    is harmless but only adds work and lock waits beside ingest. So a run that finds another
    one going skips its round: the other is doing the work, and the next round comes soon.
    `lock` None: no other process shares the storage (process memory).
    """

    def __init__(
        self,
        logs: RawLogRetention,
        batch_ids: BatchIdExpiry,
        clock: Clock,
        batch_size: int = DEFAULT_BATCH_SIZE,
        lock: ExpiryLock | None = None,
    ) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        self._logs = logs
        self._batch_ids = batch_ids
        self._clock = clock
        self._batch_size = batch_size
        self._lock = lock

    def execute(
        self,
        raw_logs_kept_for: timedelta | None,
        keep_going: Callable[[], bool] = _always,
    ) -> ExpiryReport:
        """Delete raw logs older than `raw_logs_kept_for` (None: keep them forever) and
        forget batch ids older than BATCH_IDS_KEPT_FOR, a small batch at a time.

        `keep_going` is asked between batches; when it answers False the run stops early
        (the next run continues where it stopped). When another process is running the
        expiry of the same storage, nothing is done and the report says `skipped`.
        """
        if self._lock is None:
            return self._expire(raw_logs_kept_for, keep_going)
        with self._lock.try_hold() as held:
            if not held:
                return ExpiryReport(skipped=True)
            return self._expire(raw_logs_kept_for, keep_going)

    def _expire(
        self, raw_logs_kept_for: timedelta | None, keep_going: Callable[[], bool]
    ) -> ExpiryReport:
        now = self._clock.now()
        forgotten = self._repeat(
            lambda: self._batch_ids.forget_batch_ids_before(
                now - BATCH_IDS_KEPT_FOR, self._batch_size
            ),
            keep_going,
        )
        deleted = 0
        if raw_logs_kept_for is not None:
            cutoff = now - raw_logs_kept_for
            for owner_id in self._logs.owners_with_logs_before(cutoff):
                if not keep_going():
                    break
                deleted += self._repeat(
                    lambda owner=owner_id: self._logs.delete_owner_logs_before(
                        owner, cutoff, self._batch_size
                    ),
                    keep_going,
                )
        return ExpiryReport(raw_logs_deleted=deleted, batch_ids_forgotten=forgotten)

    def _repeat(self, delete_batch: Callable[[], int], keep_going: Callable[[], bool]) -> int:
        """Run `delete_batch` until a batch comes back short (or we are told to stop)."""
        total = 0
        while keep_going():
            count = delete_batch()
            total += count
            if count < self._batch_size:
                break
        return total
