"""Use case: delete a key's logs, and their part of every dashboard."""

from __future__ import annotations

from analytics.application.errors import ReadNotAllowed
from analytics.application.ports import LogEraser
from analytics.domain.keys import ApiKey
from analytics.domain.log_filter import LogFilter


class DeleteRawLogs:
    def __init__(self, logs: LogEraser) -> None:
        self._logs = logs

    def execute(self, key: ApiKey, log_filter: LogFilter) -> int:
        """Delete the key's owner's logs that `log_filter` matches; return how many.

        Only a full key may: the ingest key an app embeds must not erase its history.
        """
        if not key.can_read:
            raise ReadNotAllowed("this key may send logs but not read or delete them")
        return self._logs.delete_matching(key.owner_id, log_filter)
