"""Deterministic traffic for the browser tests, in the shape POST /track/batch takes."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

ENDPOINTS = ["/api/users", "/api/orders", "/api/products", "/health", "/api/login"]
METHODS = ["GET", "GET", "POST", "PUT", "DELETE"]
# An endpoint that looks like markup: the page must show it as text, never run it.
MARKUP_ENDPOINT = "/<img src=x onerror=\"document.title='pwned'\">"
OLD_LOGS = 400
OLD_SPAN = timedelta(days=10)
RECENT_LOGS = 60
RECENT_SPAN = timedelta(minutes=50)


def _status(index: int) -> int:
    if index % 9 == 0:
        return 500
    if index % 7 == 0:
        return 404
    if index % 13 == 0:
        return 301
    return 201 if index % 5 == 0 else 200


def _log(index: int, moment: datetime) -> dict[str, Any]:
    return {
        "created_at": moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "method": METHODS[index % len(METHODS)],
        "endpoint": ENDPOINTS[index % len(ENDPOINTS)],
        "ip": None if index % 17 == 0 else f"10.1.0.{index % 23 + 1}",
        "process_time": round(5 + (index * 37) % 200 + 0.25, 2),
        "status_code": _status(index),
    }


def spread_traffic(now: datetime) -> list[dict[str, Any]]:
    """Logs over the ten days before `now`, denser in its last hour, plus one markup endpoint."""
    older = [_log(i, now - OLD_SPAN + i * (OLD_SPAN / OLD_LOGS)) for i in range(OLD_LOGS)]
    recent = [
        _log(OLD_LOGS + i, now - RECENT_SPAN + i * (RECENT_SPAN / RECENT_LOGS))
        for i in range(RECENT_LOGS)
    ]
    markup = {**_log(0, now - timedelta(days=2)), "endpoint": MARKUP_ENDPOINT, "status_code": 200}
    return [*older, *recent, markup]
