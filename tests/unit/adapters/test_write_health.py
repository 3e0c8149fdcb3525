"""WriteHealth: a write that failed for want of storage makes health fail for a while."""

from __future__ import annotations

import pytest

from analytics.adapters.sqlalchemy.write_health import FAILURE_HOLD_S, WriteHealth
from analytics.application.errors import StorageUnavailable


class FakeClock:
    def __init__(self) -> None:
        self.now = 500.0

    def __call__(self) -> float:
        return self.now


def fail(health: WriteHealth) -> None:
    with pytest.raises(StorageUnavailable), health.watching():
        raise StorageUnavailable("storage unavailable: database or disk is full")


def test_after_a_failed_write_it_is_failing_until_the_hold_passes() -> None:
    clock = FakeClock()
    health = WriteHealth(clock)
    assert not health.failing()

    fail(health)
    clock.now += FAILURE_HOLD_S - 0.1
    assert health.failing()
    clock.now += 0.1
    assert not health.failing()


def test_a_write_that_succeeds_ends_it_at_once() -> None:
    health = WriteHealth(FakeClock())
    fail(health)

    with health.watching():
        pass

    assert not health.failing()


def test_other_errors_say_nothing_about_storage() -> None:
    health = WriteHealth(FakeClock())

    with pytest.raises(ValueError), health.watching():
        raise ValueError("a bug")

    assert not health.failing()
