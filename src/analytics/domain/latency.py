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
    rank = nearest_rank(quantile, total)
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


def nearest_rank(quantile: float, total: int) -> int:
    return max(1, math.ceil(quantile * total))


# Coarse buckets: 16 consecutive buckets each (a factor of ~1.38 in latency). Storage may keep
# a coarse histogram beside the fine one, to find where a percentile lies by reading ~16 x
# fewer rows, and then read only that coarse bucket's fine rows (docs/storage.md).
COARSE_SHIFT = 4


def coarse_bucket(bucket: int) -> int:
    """The coarse bucket holding a bucket (a floor division, also for ZERO_BUCKET)."""
    return bucket >> COARSE_SHIFT


def coarse_buckets_to_refine(coarse: Histogram, quantiles: Iterable[float]) -> set[int]:
    """The coarse buckets whose fine counts `percentile` needs for `quantiles`: those holding
    a quantile's rank, except the lowest and highest ranks, which are the minimum and maximum."""
    total = sum(coarse.values())
    ranks = sorted({rank for q in quantiles if 1 < (rank := nearest_rank(q, total)) < total})
    refine: set[int] = set()
    seen = 0
    for bucket in sorted(coarse):
        if not ranks:
            break
        seen += coarse[bucket]
        while ranks and ranks[0] <= seen:
            refine.add(bucket)
            ranks.pop(0)
    return refine


def coarse_histogram(histogram: Histogram) -> dict[int, int]:
    coarse: dict[int, int] = {}
    for bucket, count in histogram.items():
        coarse[coarse_bucket(bucket)] = coarse.get(coarse_bucket(bucket), 0) + count
    return coarse


def refine(histogram: Histogram, quantiles: Iterable[float]) -> dict[int, int]:
    """`histogram` refined for `quantiles`: fine only where their ranks lie, which is all
    `percentile` reads for them; what storage that keeps coarse histograms can read."""
    coarse = coarse_histogram(histogram)
    wanted = coarse_buckets_to_refine(coarse, quantiles)
    fine = {bucket: n for bucket, n in histogram.items() if coarse_bucket(bucket) in wanted}
    return refined_histogram(coarse, fine)


def refined_histogram(coarse: Histogram, fine: Histogram) -> dict[int, int]:
    """A histogram with the same percentiles as the full one wherever a rank falls in a
    coarse bucket that `fine` holds all the counts of (see coarse_buckets_to_refine).

    Every other coarse bucket stands as one count at its first fine bucket: the order and
    the running totals at coarse edges are the full histogram's, so ranks land alike.
    """
    refined = {bucket: count for bucket, count in fine.items() if count}
    covered = {coarse_bucket(bucket) for bucket in fine}
    for bucket, count in coarse.items():
        if bucket not in covered and count:
            refined[bucket << COARSE_SHIFT] = count
    return refined
