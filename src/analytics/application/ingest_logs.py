"""Use case: store the logs a client middleware sends."""

from __future__ import annotations

from collections.abc import Sequence

from analytics.application.ports import LogRepository
from analytics.domain.keys import ApiKey
from analytics.domain.logs import RequestLog


class IngestLogs:
    def __init__(self, logs: LogRepository) -> None:
        self._logs = logs

    def execute(self, key: ApiKey, logs: Sequence[RequestLog]) -> int:
        """Store all of `logs` under the key's owner, or none; return how many."""
        if not logs:
            return 0
        return self._logs.add_many(key.owner_id, logs)
