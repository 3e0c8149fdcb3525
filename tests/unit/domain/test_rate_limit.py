"""The token bucket: a burst at once, then the refill rate; refusals cost nothing."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from analytics.domain.rate_limit import RateLimit, TokenBucket, take_token

LIMIT = RateLimit("test", per_second=2.0, burst=3)


def take_many(count: int, now: float, bucket: TokenBucket | None = None) -> list[float]:
    """The retry_after_s of `count` requests at `now`, in order."""
    waits = []
    for _ in range(count):
        admission = take_token(bucket, LIMIT, now)
        bucket = admission.bucket
        waits.append(admission.retry_after_s)
    return waits


def test_a_new_subject_may_send_a_burst_at_once_and_no_more() -> None:
    assert take_many(4, now=100.0) == [0.0, 0.0, 0.0, pytest.approx(0.5)]


def emptied(now: float) -> TokenBucket:
    """A bucket whose burst was all taken at `now`."""
    bucket = None
    for _ in range(LIMIT.burst):
        bucket = take_token(bucket, LIMIT, now).bucket
    assert bucket is not None
    return bucket


def test_after_a_refusal_the_wait_it_names_is_enough() -> None:
    refused = take_token(emptied(10.0), LIMIT, 10.0)
    assert not refused.admitted

    too_early = take_token(refused.bucket, LIMIT, 10.0 + refused.retry_after_s * 0.9)
    on_time = take_token(refused.bucket, LIMIT, 10.0 + refused.retry_after_s)

    assert not too_early.admitted
    assert on_time.admitted


def test_tokens_come_back_at_the_rate_and_never_beyond_the_burst() -> None:
    bucket = emptied(0.0)

    assert take_many(2, now=1.0, bucket=bucket) == [0.0, 0.0]  # 1 s at 2/s: two tokens
    assert take_many(4, now=1000.0, bucket=bucket) == [0.0, 0.0, 0.0, pytest.approx(0.5)]


def test_a_bucket_says_when_it_is_full_again() -> None:
    bucket = take_token(None, LIMIT, 5.0).bucket  # 2 of 3 tokens left

    assert bucket.full_at == pytest.approx(5.5)
    assert take_token(None, LIMIT, 7.0) == take_token(bucket, LIMIT, 7.0)


def test_a_clock_read_older_than_the_bucket_refills_nothing() -> None:
    late_reader = take_token(emptied(50.0), LIMIT, 49.0)

    assert not late_reader.admitted
    assert late_reader.bucket.updated_at == 50.0


@pytest.mark.parametrize(("per_second", "burst"), [(0.0, 1), (-1.0, 1), (1.0, 0)])
def test_a_limit_needs_a_positive_rate_and_burst(per_second: float, burst: int) -> None:
    with pytest.raises(ValueError):
        RateLimit("test", per_second, burst)


@given(
    gaps=st.lists(st.floats(min_value=0.0, max_value=5.0), min_size=1, max_size=200),
    per_second=st.floats(min_value=0.1, max_value=100.0),
    burst=st.integers(min_value=1, max_value=50),
)
def test_admitted_requests_never_exceed_burst_plus_rate_times_elapsed(
    gaps: list[float], per_second: float, burst: int
) -> None:
    limit = RateLimit("test", per_second, burst)
    bucket, now, admitted = None, 0.0, 0
    for gap in gaps:
        now += gap
        admission = take_token(bucket, limit, now)
        bucket = admission.bucket
        admitted += admission.admitted
        assert admission.admitted == (admission.retry_after_s == 0.0)

    assert admitted <= burst + per_second * now + 1e-9
