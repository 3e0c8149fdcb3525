"""Waiting in tests for what another process or thread does, with a deadline."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest


def eventually(
    condition: Callable[[], bool], what: str, timeout_s: float = 30, interval_s: float = 0.05
) -> None:
    """Return once `condition()` holds; fail the test naming `what` if it does not in time."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"not within {timeout_s} s: {what}")
        time.sleep(interval_s)
