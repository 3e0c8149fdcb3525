"""LimitRate over the in-process buckets, on a clock the test moves."""

from __future__ import annotations

import pytest

from analytics.adapters.rate_limits import InProcessTokenBuckets
from analytics.application.errors import RateLimited
from analytics.application.rate_limits import LimitRate
from analytics.domain.rate_limit import RateLimit

INGEST = RateLimit("ingest per key", per_second=10.0, burst=2)
KEYS = RateLimit("key issuance per client IP", per_second=0.5, burst=2)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def seconds(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def limit_rate(clock: FakeClock) -> LimitRate:
    return LimitRate(InProcessTokenBuckets(), clock)


def test_over_the_burst_it_raises_with_the_wait_and_a_clear_message(
    limit_rate: LimitRate,
) -> None:
    limit_rate.execute(INGEST, "key-a")
    limit_rate.execute(INGEST, "key-a")

    with pytest.raises(RateLimited) as refused:
        limit_rate.execute(INGEST, "key-a")

    assert refused.value.retry_after_s == pytest.approx(0.1)
    assert str(refused.value) == (
        "rate limit exceeded: ingest per key allows 10 requests per second, 2 at once; "
        "retry after 0.1 s"
    )


def test_once_the_clock_moves_on_requests_are_admitted_again(
    limit_rate: LimitRate, clock: FakeClock
) -> None:
    for _ in range(2):
        limit_rate.execute(KEYS, "10.0.0.1")
    with pytest.raises(RateLimited) as refused:
        limit_rate.execute(KEYS, "10.0.0.1")

    clock.now += refused.value.retry_after_s

    limit_rate.execute(KEYS, "10.0.0.1")


def test_subjects_and_limits_each_have_their_own_bucket(limit_rate: LimitRate) -> None:
    for _ in range(2):
        limit_rate.execute(INGEST, "key-a")

    limit_rate.execute(INGEST, "key-b")
    limit_rate.execute(KEYS, "key-a")  # the same text under another limit
    with pytest.raises(RateLimited):
        limit_rate.execute(INGEST, "key-a")
