"""When to try a failed batch again: exponential backoff with jitter, or what Retry-After says."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

# A Retry-After beyond this is taken as a misconfiguration rather than waited out.
MAX_RETRY_AFTER = 300.0


def backoff_delay(
    attempt: int,
    base: float,
    cap: float,
    random_fraction: float | None = None,
) -> float:
    """The wait before retry number `attempt` (0 for the first retry).

    "Equal jitter": half of the exponential step is kept, the other half is random, so many
    clients that failed together spread out but none retries at once.
    """
    step = min(cap, base * 2 ** min(attempt, 32))
    fraction = random.random() if random_fraction is None else random_fraction
    return step / 2 + step / 2 * fraction


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds a Retry-After header asks to wait (delta-seconds or an HTTP date), or None."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        seconds = _seconds_until(value, now)
    if seconds is None or seconds != seconds:  # unparseable or NaN
        return None
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)


def _seconds_until(http_date: str, now: datetime | None) -> float | None:
    try:
        moment = parsedate_to_datetime(http_date)
    except (TypeError, ValueError, IndexError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return (moment - (now or datetime.now(UTC))).total_seconds()
