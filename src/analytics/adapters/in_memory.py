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
    def __init__(self) -> None:
        self._logs: dict[str, list[StoredLog]] = {}
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def add_many(self, owner_id: str, logs: Sequence[RequestLog]) -> int:
        with self._lock:
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
        moments = [row.log.created_at for row in self._owned(owner_id)]
        return (min(moments), max(moments)) if moments else None

    def dashboard_data(self, owner_id: str, query: DashboardQuery) -> DashboardData:
        return compute_dashboard_data((row.log for row in self._owned(owner_id)), query)

    def is_available(self) -> bool:
        return True

    def _owned(self, owner_id: str) -> list[StoredLog]:
        with self._lock:
            return list(self._logs.get(owner_id, ()))
