"""Request bodies as clients send them, for the end-to-end tests."""

from __future__ import annotations

from typing import Any

SEED_LOG: dict[str, Any] = {
    # Exactly what the original (seed) middleware sends: a naive local time from
    # datetime.now().isoformat(), process_time in milliseconds as a float.
    "created_at": "2024-02-07T08:00:00.250000",
    "method": "GET",
    "endpoint": "/api/users",
    "ip": "10.0.0.1",
    "process_time": 1.5,
    "status_code": 200,
}


def log_body(**overrides: Any) -> dict[str, Any]:
    """A valid /track body; keyword arguments replace or add fields."""
    return {**SEED_LOG, **overrides}


def batch_body(logs: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {"logs": logs, **extra}
