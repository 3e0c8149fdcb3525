"""Use case: admit a request under a rate limit, or refuse it with the time to wait."""

from __future__ import annotations

from functools import partial

from analytics.application.errors import RateLimited
from analytics.application.ports import MonotonicClock, TokenBuckets
from analytics.domain.rate_limit import RateLimit, take_token


class LimitRate:
    def __init__(self, buckets: TokenBuckets, clock: MonotonicClock) -> None:
        self._buckets = buckets
        self._clock = clock

    def execute(self, limit: RateLimit, subject: str) -> None:
        """Count one request of `subject` against `limit`; raise RateLimited when over it."""
        now = self._clock.seconds()
        admission = self._buckets.update(
            (limit.name, subject), partial(take_token, limit=limit, now=now)
        )
        if not admission.admitted:
            raise RateLimited(
                f"rate limit exceeded: {limit.name} allows {_rate(limit.per_second)} "
                f"requests per second, {limit.burst} at once; retry after "
                f"{admission.retry_after_s:.1f} s",
                admission.retry_after_s,
            )


def _rate(per_second: float) -> str:
    return f"{per_second:g}"
