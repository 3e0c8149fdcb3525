"""Test data builders shared by the unit, contract and end-to-end suites."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from analytics.domain.logs import RequestLog

T0 = datetime(2024, 2, 7, 8, 0, tzinfo=UTC)

_DEFAULT = RequestLog(
    created_at=T0,
    method="GET",
    endpoint="/api/users",
    ip="10.0.0.1",
    process_time_us=1500,
    status_code=200,
)


def request_log(**overrides: Any) -> RequestLog:
    """A valid RequestLog; keyword arguments replace any field."""
    return replace(_DEFAULT, **overrides)
