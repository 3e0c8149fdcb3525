"""Which rollup levels and raw rows answer a dashboard's time range.

A rollup bucket may be used when every log it holds is inside the range. Raw rows cover what
is left at the edges: less than an hour on each side. A bucket that sticks out of the range
is still usable where it sticks out past the owner's oldest or newest log, since nothing is
there; so an all-time dashboard, or any range covering all of an owner's logs, reads
rollups only: the all-time level for totals, hours or days for the time series.

Counts (latency histograms, IPs) may also be subtracted, which sums with a min and a max
may not: where a range holds most of a day's hours, its counts are read as the day's rollups
minus the few hours outside the range, not as up to 23 hours of rollups. A day of IP rows
is not much bigger than an hour of them, so a 24-hour range that is not a calendar day
reads about two hours' worth of IP rows instead of 23.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from analytics.adapters.sqlalchemy.rollups import DAY_US, HOUR_US, Level
from analytics.adapters.sqlalchemy.sources import (
    CombinedSource,
    RawSource,
    RollupSource,
    Scope,
    Source,
    SplitSource,
)
from analytics.domain.time import Granularity

_FINER_THAN_DAY = ((Level.HOUR, HOUR_US),)
_DAY_AND_FINER = ((Level.DAY, DAY_US), *_FINER_THAN_DAY)


def effective_bounds(
    start_us: int | None, end_us: int | None, first_us: int, last_us: int
) -> tuple[int | None, int | None]:
    """The range's bounds, None where a bound cuts off none of the owner's logs."""
    start = start_us if start_us is not None and start_us > first_us else None
    end = end_us if end_us is not None and end_us <= last_us else None
    return start, end


def totals_source(scope: Scope, start: int | None, end: int | None) -> Source:
    if start is None and end is None:
        return RollupSource(scope, Level.ALL)
    sums = _covered(scope, start, end, _DAY_AND_FINER)
    counts = _covered(scope, start, end, _DAY_AND_FINER, subtract=True)
    return sums if counts == sums else SplitSource(sums=sums, counts=counts)


def series_source(
    scope: Scope, start: int | None, end: int | None, granularity: Granularity
) -> Source:
    """Rollups no coarser than the granularity, so that each lies in one series bucket."""
    if granularity is Granularity.MINUTE:
        return RawSource(scope, start, end)
    levels = _FINER_THAN_DAY if granularity is Granularity.HOUR else _DAY_AND_FINER
    return _covered(scope, start, end, levels)


def _covered(
    scope: Scope,
    start: int | None,
    end: int | None,
    levels: Sequence[tuple[Level, int]],
    subtract: bool = False,
) -> Source:
    parts = _cover(scope, start, end, levels, subtract)
    if not parts:  # an empty range: raw rows in it are none, which is the right answer
        return RawSource(scope, start, end)
    return parts[0] if len(parts) == 1 else CombinedSource(parts)


def _cover(
    scope: Scope,
    start: int | None,
    end: int | None,
    levels: Sequence[tuple[Level, int]],
    subtract: bool = False,
) -> list[Source]:
    """Sources for [start, end): whole buckets of the coarsest level, the rest recursively;
    with `subtract`, a rest made mostly of finer buckets is its bucket minus the others."""
    if start is not None and end is not None and start >= end:
        return []
    if not levels:
        return [RawSource(scope, start, end)]
    (level, width), finer = levels[0], levels[1:]
    if start is not None and end is not None and _ceil(start, width) >= end - end % width:
        if not subtract:
            return _cover(scope, start, end, finer)
        # No whole bucket: inside one bucket, or across one bucket edge into the next.
        edge = min(_ceil(start, width), end)
        return _rest(scope, start, edge, levels, subtract) + _rest(
            scope, edge, end, levels, subtract
        )
    parts: list[Source] = []
    first_whole = None if start is None else _ceil(start, width)
    end_whole = None if end is None else end - end % width
    if start is not None and first_whole is not None:
        parts += _rest(scope, start, first_whole, levels, subtract)
    parts.append(RollupSource(scope, level, first_whole, end_whole))
    if end is not None and end_whole is not None:
        parts += _rest(scope, end_whole, end, levels, subtract)
    return parts


def _rest(
    scope: Scope, start: int, end: int, levels: Sequence[tuple[Level, int]], subtract: bool
) -> list[Source]:
    """Sources for [start, end), which lies inside one bucket of `levels[0]`."""
    (level, width), finer = levels[0], levels[1:]
    if not finer:
        return _cover(scope, start, end, finer)
    fine_width = finer[0][1]
    first_fine, end_fine = _ceil(start, fine_width), end - end % fine_width
    if not subtract or end_fine - first_fine <= width // 2:
        return _cover(scope, start, end, finer, subtract)
    bucket = start - start % width
    return [
        RollupSource(scope, level, bucket, bucket + width),
        *_negated(_cover(scope, bucket, first_fine, finer)),
        *_negated(_cover(scope, end_fine, bucket + width, finer)),
        *_cover(scope, start, first_fine, finer[1:]),
        *_cover(scope, end_fine, end, finer[1:]),
    ]


def _negated(parts: list[Source]) -> list[RollupSource]:
    """Whole rollup buckets, to be subtracted."""
    negated = []
    for part in parts:
        if not isinstance(part, RollupSource):
            raise ValueError("only whole rollup buckets can be subtracted")
        negated.append(replace(part, negated=True))
    return negated


def _ceil(moment: int, width: int) -> int:
    return -(-moment // width) * width
