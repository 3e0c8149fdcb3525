"""The ports use cases depend on. Adapters implement them; use cases never see an adapter."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Protocol

from analytics.domain.batches import BatchReceipt
from analytics.domain.dashboard import DashboardData, DashboardQuery
from analytics.domain.keys import ApiKey
from analytics.domain.log_filter import LogFilter, LogPage
from analytics.domain.logs import RequestLog, StoredLog
from analytics.domain.rate_limit import Admission, TokenBucket


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, UTC-aware."""
        ...


class KeyHasher(Protocol):
    def hash(self, api_key: str) -> str:
        """A one-way digest of a key's full text, stored instead of the key."""
        ...


class KeyRepository(Protocol):
    def add(self, key: ApiKey) -> None: ...

    def get(self, key_id: str) -> ApiKey | None: ...

    def revoke(self, key_id: str) -> None:
        """Mark the key revoked (it then never authenticates again); no-op if absent."""
        ...

    def revoke_owned_by(self, owner_id: str) -> None:
        """Mark every key whose `owner_id` is `owner_id` revoked."""
        ...


class LogRepository(Protocol):
    """Request logs of many owners; every method reads or writes one owner's logs only.

    Adapters raise `StorageUnavailable` when the storage cannot be reached.
    """

    def add_many(
        self, owner_id: str, logs: Sequence[RequestLog], receipt: BatchReceipt | None = None
    ) -> int:
        """Store all of `logs` or none of them; return how many were stored.

        With a `receipt`, its batch id is recorded in the same transaction as the logs. If
        the owner's batch with that id is already stored (and its id not yet forgotten),
        nothing is stored and the count stored the first time is returned: a retried batch
        is answered as the first one was. Concurrent batches with one id store once.
        """
        ...

    def list(self, owner_id: str, log_filter: LogFilter, page: LogPage) -> list[StoredLog]:
        """The matching logs, newest first (see `LogPage`)."""
        ...

    def time_span(self, owner_id: str) -> tuple[datetime, datetime] | None:
        """The `created_at` of the owner's oldest and newest log, or None without logs."""
        ...

    def dashboard_data(self, owner_id: str, query: DashboardQuery) -> DashboardData:
        """Exactly what `compute_dashboard_data` gives for the owner's logs.

        The query's granularity is resolved.
        """
        ...


class StorageHealth(Protocol):
    def is_available(self) -> bool:
        """True when storage answers a trivial query now."""
        ...


class MonotonicClock(Protocol):
    def seconds(self) -> float:
        """Seconds since an arbitrary start; never goes back (for measuring intervals)."""
        ...


class TokenBuckets(Protocol):
    """Where rate-limit buckets live, by subject (see domain.rate_limit)."""

    def update(
        self, subject: Hashable, change: Callable[[TokenBucket | None], Admission]
    ) -> Admission:
        """Replace the subject's bucket by `change(bucket)`'s, atomically; return the outcome.

        A subject without a bucket is given None; a store may forget buckets that are full
        again (`full_at` passed), since None means exactly that.
        """
        ...


class LogEraser(Protocol):
    def delete_matching(self, owner_id: str, log_filter: LogFilter) -> int:
        """Delete the owner's logs that `log_filter` matches, and take them out of every
        aggregate, so dashboards afterwards describe the remaining logs; return how many."""
        ...


class RawLogRetention(Protocol):
    """Deleting old raw logs; what dashboards aggregate from them stays."""

    def owners_with_logs_before(self, cutoff: datetime) -> list[str]:
        """Owners who may have raw logs created before `cutoff`."""
        ...

    def delete_owner_logs_before(self, owner_id: str, cutoff: datetime, limit: int) -> int:
        """Delete up to `limit` of the owner's oldest raw logs created before `cutoff`, in
        one transaction; return how many."""
        ...


class BatchIdExpiry(Protocol):
    def forget_batch_ids_before(self, cutoff: datetime, limit: int) -> int:
        """Forget up to `limit` batch ids received before `cutoff`; return how many."""
        ...


class ExpiryLock(Protocol):
    def try_hold(self) -> AbstractContextManager[bool]:
        """Hold the storage's expiry lock for the `with` block if no other process (server)
        holds it, without waiting; the block is given whether it holds it."""
        ...
