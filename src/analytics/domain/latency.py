"""A mergeable latency histogram with logarithmic buckets (the DDSketch idea).

Every value in bucket `i` lies in (GAMMA**(i-1), GAMMA**i]; reporting the bucket's
representative value is then within RELATIVE_ACCURACY of the true value. Histograms are
plain {bucket index: count} maps, so storage can keep them as rows and sum them with SQL,
and every adapter reports the very same percentiles.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

RELATIVE_ACCURACY = 0.01
GAMMA = (1 + RELATIVE_ACCURACY) / (1 - RELATIVE_ACCURACY)
_LOG_GAMMA = math.log(GAMMA)
# Values are whole microseconds, so 0 is the only value below 1 and gets a bucket of its own.
ZERO_BUCKET = -1

Histogram = Mapping[int, int]


def latency_bucket(process_time_us: int) -> int:
    """The histogram bucket of one latency, in microseconds."""
    if process_time_us <= 0:
        return ZERO_BUCKET
    return math.ceil(math.log(process_time_us) / _LOG_GAMMA)


def bucket_value(bucket: int) -> float:
    """The value reported for a bucket, in microseconds."""
    if bucket == ZERO_BUCKET:
        return 0.0
    return 2 * GAMMA**bucket / (GAMMA + 1)


def histogram_of(values_us: Iterable[int]) -> dict[int, int]:
    histogram: dict[int, int] = {}
    for value in values_us:
        bucket = latency_bucket(value)
        histogram[bucket] = histogram.get(bucket, 0) + 1
    return histogram


def percentile(histogram: Histogram, quantile: float, lowest_us: int, highest_us: int) -> float:
    """The nearest-rank `quantile` (0 < q <= 1) of the histogrammed values, in microseconds.

    The lowest and highest ranks are the exact minimum and maximum, and they clamp every
    other estimate, which never makes it worse. Raises ValueError for an empty histogram.
    """
    total = sum(histogram.values())
    if total == 0:
        raise ValueError("percentile of an empty histogram")
    rank = max(1, math.ceil(quantile * total))
    if rank == 1:
        return lowest_us
    if rank >= total:
        return highest_us
    seen = 0
    for bucket in sorted(histogram):
        seen += histogram[bucket]
        if seen >= rank:
            return min(max(bucket_value(bucket), lowest_us), highest_us)
    raise AssertionError("unreachable: rank never exceeds the total")
