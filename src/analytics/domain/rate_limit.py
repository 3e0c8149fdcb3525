"""Rate limits as token buckets: pure arithmetic on a time the caller supplies.

A bucket holds at most `burst` tokens and gains `per_second` tokens a second; a request
takes one token or, when none is there, is refused and told how long until one is.
A subject never seen has a full bucket, and so does one idle long enough to refill: such a
bucket can be forgotten without changing any answer.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RateLimit:
    """At most `burst` requests at once, then `per_second` requests a second."""

    name: str  # what is limited, e.g. "ingest": buckets of different limits never mix
    per_second: float
    burst: int

    def __post_init__(self) -> None:
        if not self.per_second > 0:
            raise ValueError("a rate limit needs a positive rate")
        if self.burst < 1:
            raise ValueError("a rate limit needs a burst of at least 1")


@dataclass(frozen=True, slots=True)
class TokenBucket:
    tokens: float
    updated_at: float  # seconds, on a monotonic clock
    full_at: float  # when, with no more requests, it holds `burst` tokens again


@dataclass(frozen=True, slots=True)
class Admission:
    """The outcome of asking for one token."""

    bucket: TokenBucket
    retry_after_s: float  # 0.0 when admitted

    @property
    def admitted(self) -> bool:
        return self.retry_after_s == 0.0


def take_token(bucket: TokenBucket | None, limit: RateLimit, now: float) -> Admission:
    """Take one token from `bucket` (None: a full one) at time `now`."""
    if bucket is None:
        tokens = float(limit.burst)
    else:
        # A clock read that lost a race to another thread's later one refills nothing.
        now = max(now, bucket.updated_at)
        elapsed = now - bucket.updated_at
        tokens = min(float(limit.burst), bucket.tokens + elapsed * limit.per_second)
    if tokens >= 1.0:
        return Admission(_bucket(tokens - 1.0, limit, now), 0.0)
    # The bucket stays as it is: a refused request costs nothing, so a client that waits
    # the time it is told gets through.
    wait_s = (1.0 - tokens) / limit.per_second
    return Admission(_bucket(tokens, limit, now), wait_s)


def _bucket(tokens: float, limit: RateLimit, now: float) -> TokenBucket:
    full_at = now + (limit.burst - tokens) / limit.per_second
    return TokenBucket(tokens=tokens, updated_at=now, full_at=full_at)
