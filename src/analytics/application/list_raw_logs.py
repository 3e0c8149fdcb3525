"""Use case: page through a key's raw logs."""

from __future__ import annotations

from analytics.application.errors import ReadNotAllowed
from analytics.application.ports import LogRepository
from analytics.domain.keys import ApiKey
from analytics.domain.log_filter import LogFilter, LogPage
from analytics.domain.logs import StoredLog


def require_read(key: ApiKey) -> None:
    if not key.can_read:
        raise ReadNotAllowed("this key may send logs but not read them")


class ListRawLogs:
    def __init__(self, logs: LogRepository) -> None:
        self._logs = logs

    def execute(self, key: ApiKey, log_filter: LogFilter, page: LogPage) -> list[StoredLog]:
        require_read(key)
        return self._logs.list(key.owner_id, log_filter, page)
