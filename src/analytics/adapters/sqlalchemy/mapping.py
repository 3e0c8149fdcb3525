"""Conversions between entities and table rows."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from analytics.domain.latency import latency_bucket
from analytics.domain.logs import RequestLog, StoredLog
from analytics.domain.time import EPOCH

_MICROSECOND = timedelta(microseconds=1)


def to_epoch_us(moment: datetime) -> int:
    """Microseconds since the Unix epoch of an aware datetime."""
    return (moment - EPOCH) // _MICROSECOND


def from_epoch_us(epoch_us: int) -> datetime:
    """The UTC-aware datetime `epoch_us` microseconds after the Unix epoch."""
    return EPOCH + timedelta(microseconds=epoch_us)


# The columns a new request_logs row is inserted with, in the order of `log_values`.
LOG_COLUMNS = (
    "owner_id",
    "created_us",
    "method",
    "endpoint",
    "ip",
    "status_code",
    "process_time_us",
    "latency_bucket",
    "path",
    "user_agent",
    "consumer",
)


def log_values(owner_id: str, log: RequestLog) -> tuple[Any, ...]:
    """A new request_logs row, in LOG_COLUMNS order."""
    return (
        owner_id,
        to_epoch_us(log.created_at),
        log.method,
        log.endpoint,
        log.ip,
        log.status_code,
        log.process_time_us,
        latency_bucket(log.process_time_us),
        log.path,
        log.user_agent,
        log.consumer,
    )


def log_row(owner_id: str, log: RequestLog) -> dict[str, Any]:
    """A new request_logs row, by column name."""
    return dict(zip(LOG_COLUMNS, log_values(owner_id, log), strict=True))


def stored_log(row: Mapping[str, Any]) -> StoredLog:
    return StoredLog(
        id=row["id"],
        log=RequestLog(
            created_at=from_epoch_us(row["created_us"]),
            method=row["method"],
            endpoint=row["endpoint"],
            ip=row["ip"],
            process_time_us=row["process_time_us"],
            status_code=row["status_code"],
            path=row["path"],
            user_agent=row["user_agent"],
            consumer=row["consumer"],
        ),
    )
