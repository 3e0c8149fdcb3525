"""Which stored logs a raw-log listing (or deletion) covers, and which page of them."""

from __future__ import annotations

from dataclasses import dataclass, field

from analytics.domain.logs import RequestLog, StoredLog
from analytics.domain.time import TimeRange

DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000


@dataclass(frozen=True, slots=True)
class LogFilter:
    """Every given criterion must hold; latency bounds are inclusive, in microseconds."""

    time_range: TimeRange = field(default_factory=TimeRange)
    method: str | None = None
    status_code: int | None = None
    endpoint: str | None = None
    ip: str | None = None
    min_process_time_us: int | None = None
    max_process_time_us: int | None = None

    def matches(self, log: RequestLog) -> bool:
        return (
            self.time_range.contains(log.created_at)
            and (self.method is None or log.method == self.method)
            and (self.status_code is None or log.status_code == self.status_code)
            and (self.endpoint is None or log.endpoint == self.endpoint)
            and (self.ip is None or log.ip == self.ip)
            and (
                self.min_process_time_us is None or log.process_time_us >= self.min_process_time_us
            )
            and (
                self.max_process_time_us is None or log.process_time_us <= self.max_process_time_us
            )
        )


@dataclass(frozen=True, slots=True)
class LogPage:
    """A page of a listing ordered newest first: `created_at` descending, then id descending.

    `before_id` continues a listing after the row with that id (keyset paging, fast at any
    depth); `offset` skips rows after that.
    """

    limit: int = DEFAULT_PAGE_SIZE
    offset: int = 0
    before_id: int | None = None


def newest_first(stored: StoredLog) -> tuple:
    """Sort key of the listing order (use with reverse=True)."""
    return (stored.log.created_at, stored.id)
