"""Request statistics that add up: what every metric of a dashboard is computed from."""

from __future__ import annotations

from dataclasses import dataclass, field

from analytics.domain.latency import latency_bucket


@dataclass(slots=True)
class RequestStats:
    """Count, errors and latency of a set of requests, mergeable across sets.

    Latencies are whole microseconds; `histogram` maps latency buckets to counts.
    Two sets' stats merge exactly, which lets storage keep them pre-aggregated.
    """

    requests: int = 0
    errors: int = 0
    sum_us: int = 0
    min_us: int | None = None
    max_us: int | None = None
    histogram: dict[int, int] = field(default_factory=dict)

    def add(self, process_time_us: int, is_error: bool) -> None:
        self.requests += 1
        self.errors += is_error
        self.sum_us += process_time_us
        self.min_us = process_time_us if self.min_us is None else min(self.min_us, process_time_us)
        self.max_us = process_time_us if self.max_us is None else max(self.max_us, process_time_us)
        bucket = latency_bucket(process_time_us)
        self.histogram[bucket] = self.histogram.get(bucket, 0) + 1

    def merge(self, other: RequestStats) -> None:
        self.requests += other.requests
        self.errors += other.errors
        self.sum_us += other.sum_us
        if other.min_us is not None:
            self.min_us = other.min_us if self.min_us is None else min(self.min_us, other.min_us)
        if other.max_us is not None:
            self.max_us = other.max_us if self.max_us is None else max(self.max_us, other.max_us)
        for bucket, count in other.histogram.items():
            self.histogram[bucket] = self.histogram.get(bucket, 0) + count
