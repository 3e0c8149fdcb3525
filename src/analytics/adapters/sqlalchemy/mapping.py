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


def log_row(owner_id: str, log: RequestLog) -> dict[str, Any]:
    return {
        "owner_id": owner_id,
        "created_us": to_epoch_us(log.created_at),
        "method": log.method,
        "endpoint": log.endpoint,
        "ip": log.ip,
        "status_code": log.status_code,
        "process_time_us": log.process_time_us,
        "latency_bucket": latency_bucket(log.process_time_us),
        "path": log.path,
        "user_agent": log.user_agent,
        "consumer": log.consumer,
    }


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
