"""The in-process bucket store: atomic under threads, and bounded by sweeping full buckets."""

from __future__ import annotations

import threading

from analytics.adapters.rate_limits import InProcessTokenBuckets
from analytics.domain.rate_limit import RateLimit, take_token

LIMIT = RateLimit("test", per_second=1.0, burst=100)


def test_threads_taking_at_one_instant_get_exactly_the_burst() -> None:
    buckets = InProcessTokenBuckets()
    admitted: list[bool] = []
    start = threading.Barrier(8)

    def take_50() -> None:
        start.wait()
        for _ in range(50):
            admission = buckets.update("subject", lambda b: take_token(b, LIMIT, 0.0))
            admitted.append(admission.admitted)

    threads = [threading.Thread(target=take_50) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sum(admitted) == LIMIT.burst


def test_buckets_full_again_are_swept_once_the_store_grows_past_its_bound() -> None:
    buckets = InProcessTokenBuckets(sweep_above=100)
    for subject in range(100):
        buckets.update(subject, lambda b: take_token(b, LIMIT, 0.0))
    assert len(buckets) == 100

    # 1000 s later every one of them has refilled: the next new subject triggers a sweep.
    buckets.update("late", lambda b: take_token(b, LIMIT, 1000.0))
    buckets.update("later", lambda b: take_token(b, LIMIT, 1000.0))

    assert len(buckets) == 2


def test_buckets_still_refilling_survive_a_sweep() -> None:
    buckets = InProcessTokenBuckets(sweep_above=10)
    for subject in range(11):
        buckets.update(subject, lambda b: take_token(b, LIMIT, 0.0))

    assert len(buckets) == 11  # all still 1 token short at t=0: none swept
    # Kept: 99 + 0.5 refilled - 1 taken (a forgotten bucket would have started full: 99).
    assert buckets.update(3, lambda b: take_token(b, LIMIT, 0.5)).bucket.tokens == 98.5
