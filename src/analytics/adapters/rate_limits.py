"""Rate-limit buckets in process memory, and the monotonic clock they are measured on.

Buckets live per server process: with `--workers N` (or N servers) a client may get up to N
times a limit. That suits limits meant to stop runaway clients, not to meter exactly.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable

from analytics.domain.rate_limit import Admission, TokenBucket

# Past this many buckets, buckets that are full again are swept out (they equal no bucket).
SWEEP_ABOVE = 10_000


class SystemMonotonicClock:
    def seconds(self) -> float:
        return time.monotonic()


class InProcessTokenBuckets:
    def __init__(self, sweep_above: int = SWEEP_ABOVE) -> None:
        self._buckets: dict[Hashable, TokenBucket] = {}
        self._lock = threading.Lock()
        self._sweep_above = sweep_above
        self._next_sweep_at = sweep_above

    def update(
        self, subject: Hashable, change: Callable[[TokenBucket | None], Admission]
    ) -> Admission:
        with self._lock:
            admission = change(self._buckets.get(subject))
            self._buckets[subject] = admission.bucket
            if len(self._buckets) > self._next_sweep_at:
                self._sweep(admission.bucket.updated_at)
            return admission

    def __len__(self) -> int:
        return len(self._buckets)

    def _sweep(self, now: float) -> None:
        self._buckets = {s: b for s, b in self._buckets.items() if b.full_at > now}
        # Sweep again only once the store has doubled: the cost stays O(1) per update.
        self._next_sweep_at = max(self._sweep_above, 2 * len(self._buckets))
