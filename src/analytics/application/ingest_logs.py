"""Use case: store the logs a client middleware sends."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from analytics.application.ports import Clock, LogRepository
from analytics.domain.batches import BatchReceipt
from analytics.domain.keys import ApiKey
from analytics.domain.logs import RequestLog


class IngestLogs:
    def __init__(self, logs: LogRepository, clock: Clock) -> None:
        self._logs = logs
        self._clock = clock

    def execute(self, key: ApiKey, logs: Sequence[RequestLog], batch_id: UUID | None = None) -> int:
        """Store all of `logs` under the key's owner, or none; return how many.

        A batch whose `batch_id` the owner sent before is not stored again: the answer is
        the count stored the first time.
        """
        if not logs:
            return 0
        receipt = None if batch_id is None else BatchReceipt(batch_id, self._clock.now())
        return self._logs.add_many(key.owner_id, logs, receipt)
