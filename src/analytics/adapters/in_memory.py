"""Storage in process memory: for tests and throw-away runs (`memory://`).

It answers with the pure calculators themselves, so it is the reference the SQL adapters
are held to by the shared contract suite.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from uuid import UUID

from analytics.domain.batches import BatchReceipt
from analytics.domain.dashboard import DashboardData, DashboardQuery
from analytics.domain.keys import ApiKey
from analytics.domain.log_filter import LogFilter, LogPage, newest_first
from analytics.domain.logs import RequestLog, StoredLog
from analytics.domain.metrics import compute_dashboard_data


class InMemoryKeyRepository:
    def __init__(self) -> None:
        self._keys: dict[str, ApiKey] = {}
        self._lock = threading.Lock()

    def add(self, key: ApiKey) -> None:
        with self._lock:
            self._keys[key.key_id] = key

    def get(self, key_id: str) -> ApiKey | None:
        return self._keys.get(key_id)

    def revoke(self, key_id: str) -> None:
        with self._lock:
            key = self._keys.get(key_id)
            if key is not None:
                self._keys[key_id] = replace(key, revoked=True)

    def revoke_owned_by(self, owner_id: str) -> None:
        with self._lock:
            for key_id, key in self._keys.items():
                if key.owner_id == owner_id:
                    self._keys[key_id] = replace(key, revoked=True)


class InMemoryLogRepository:
    """Logs per owner. Retention moves old logs out of the listing into `_retired`, where
    dashboards still count them, as the SQL adapters' rollups do."""

    def __init__(self) -> None:
        self._logs: dict[str, list[StoredLog]] = {}
        self._retired: dict[str, list[StoredLog]] = {}
        # (owner, batch id) -> (logs stored, when received)
        self._batches: dict[tuple[str, UUID], tuple[int, datetime]] = {}
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def add_many(
        self, owner_id: str, logs: Sequence[RequestLog], receipt: BatchReceipt | None = None
    ) -> int:
        with self._lock:
            if receipt is not None:
                earlier = self._batches.get((owner_id, receipt.batch_id))
                if earlier is not None:
                    return earlier[0]
                self._batches[(owner_id, receipt.batch_id)] = (len(logs), receipt.received_at)
            stored = [StoredLog(next(self._ids), log) for log in logs]
            self._logs.setdefault(owner_id, []).extend(stored)
        return len(stored)

    def list(self, owner_id: str, log_filter: LogFilter, page: LogPage) -> list[StoredLog]:
        rows = sorted(self._owned(owner_id), key=newest_first, reverse=True)
        if page.before_id is not None:
            anchor = next((row for row in rows if row.id == page.before_id), None)
            if anchor is None:
                return []
            rows = [row for row in rows if newest_first(row) < newest_first(anchor)]
        matching = (row for row in rows if log_filter.matches(row.log))
        return list(itertools.islice(matching, page.offset, page.offset + page.limit))

    def time_span(self, owner_id: str) -> tuple[datetime, datetime] | None:
        moments = [log.created_at for log in self._counted(owner_id)]
        return (min(moments), max(moments)) if moments else None

    def dashboard_data(self, owner_id: str, query: DashboardQuery) -> DashboardData:
        return compute_dashboard_data(self._counted(owner_id), query)

    def delete_matching(self, owner_id: str, log_filter: LogFilter) -> int:
        with self._lock:
            rows = self._logs.get(owner_id, [])
            kept = [row for row in rows if not log_filter.matches(row.log)]
            self._logs[owner_id] = kept
            return len(rows) - len(kept)

    def owners_with_logs_before(self, cutoff: datetime) -> list[str]:
        with self._lock:
            return [
                owner_id
                for owner_id, rows in self._logs.items()
                if any(row.log.created_at < cutoff for row in rows)
            ]

    def delete_owner_logs_before(self, owner_id: str, cutoff: datetime, limit: int) -> int:
        with self._lock:
            rows = self._logs.get(owner_id, [])
            old = sorted((row for row in rows if row.log.created_at < cutoff), key=newest_first)
            retired = {row.id for row in old[:limit]}
            self._logs[owner_id] = [row for row in rows if row.id not in retired]
            self._retired.setdefault(owner_id, []).extend(old[:limit])
            return len(retired)

    def forget_batch_ids_before(self, cutoff: datetime, limit: int) -> int:
        with self._lock:
            expired = [key for key, (_, received) in self._batches.items() if received < cutoff]
            for key in expired[:limit]:
                del self._batches[key]
            return len(expired[:limit])

    def is_available(self) -> bool:
        return True

    def _owned(self, owner_id: str) -> list[StoredLog]:
        with self._lock:
            return list(self._logs.get(owner_id, ()))

    def _counted(self, owner_id: str) -> list[RequestLog]:
        """The logs dashboards count: listed ones and those retention took off the list."""
        with self._lock:
            rows = [*self._retired.get(owner_id, ()), *self._logs.get(owner_id, ())]
        return [row.log for row in rows]
