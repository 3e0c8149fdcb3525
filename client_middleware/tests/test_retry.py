"""Backoff pacing and Retry-After parsing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from client_middleware.retry import MAX_RETRY_AFTER, backoff_delay, retry_after_seconds


@pytest.mark.parametrize("attempt", range(8))
def test_backoff_doubles_each_attempt_within_its_jitter_band(attempt):
    step = min(30.0, 0.5 * 2**attempt)

    low = backoff_delay(attempt, base=0.5, cap=30.0, random_fraction=0.0)
    high = backoff_delay(attempt, base=0.5, cap=30.0, random_fraction=1.0)

    assert (low, high) == (step / 2, step)


def test_backoff_never_exceeds_the_cap_even_after_many_attempts():
    assert backoff_delay(10_000, base=0.5, cap=30.0) <= 30.0


def test_backoff_is_jittered():
    delays = {backoff_delay(5, base=0.5, cap=30.0) for _ in range(20)}
    assert len(delays) > 1


@pytest.mark.parametrize(
    ("header", "seconds"),
    [("3", 3.0), ("0", 0.0), ("1.5", 1.5), ("-4", 0.0), ("999999", MAX_RETRY_AFTER)],
)
def test_retry_after_in_seconds(header, seconds):
    assert retry_after_seconds(header) == seconds


def test_retry_after_as_an_http_date():
    now = datetime(2024, 2, 7, 8, 0, tzinfo=UTC)
    header = format_datetime(now + timedelta(seconds=12), usegmt=True)

    assert retry_after_seconds(header, now=now) == 12.0


@pytest.mark.parametrize("header", [None, "", "soon", "nan"])
def test_unusable_retry_after_leaves_the_backoff_in_charge(header):
    assert retry_after_seconds(header) is None
