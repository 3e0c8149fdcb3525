"""Which rollup levels and raw rows answer a dashboard's time range.

A rollup bucket may be used when every log it holds is inside the range. Raw rows cover what
is left at the edges: less than an hour on each side. A bucket that sticks out of the range
is still usable where it sticks out past the owner's oldest or newest log, since nothing is
there; so an all-time dashboard, or any range covering all of an owner's logs, reads
rollups only: the all-time level for totals, hours or days for the time series.
"""

from __future__ import annotations

from collections.abc import Sequence

from analytics.adapters.sqlalchemy.rollups import DAY_US, HOUR_US, Level
from analytics.adapters.sqlalchemy.sources import (
    CombinedSource,
    RawSource,
    RollupSource,
    Scope,
    Source,
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
    return _covered(scope, start, end, _DAY_AND_FINER)


def series_source(
    scope: Scope, start: int | None, end: int | None, granularity: Granularity
) -> Source:
    """Rollups no coarser than the granularity, so that each lies in one series bucket."""
    if granularity is Granularity.MINUTE:
        return RawSource(scope, start, end)
    levels = _FINER_THAN_DAY if granularity is Granularity.HOUR else _DAY_AND_FINER
    return _covered(scope, start, end, levels)


def _covered(
    scope: Scope, start: int | None, end: int | None, levels: Sequence[tuple[Level, int]]
) -> Source:
    parts = _cover(scope, start, end, levels)
    if not parts:  # an empty range: raw rows in it are none, which is the right answer
        return RawSource(scope, start, end)
    return parts[0] if len(parts) == 1 else CombinedSource(parts)


def _cover(
    scope: Scope, start: int | None, end: int | None, levels: Sequence[tuple[Level, int]]
) -> list[Source]:
    """Sources for [start, end): whole buckets of the coarsest level, the rest recursively."""
    if start is not None and end is not None and start >= end:
        return []
    if not levels:
        return [RawSource(scope, start, end)]
    (level, width), finer = levels[0], levels[1:]
    first_whole = None if start is None else -(-start // width) * width
    end_whole = None if end is None else end - end % width
    if first_whole is not None and end_whole is not None and first_whole >= end_whole:
        return _cover(scope, start, end, finer)
    parts: list[Source] = []
    if start is not None:
        parts += _cover(scope, start, first_whole, finer)
    parts.append(RollupSource(scope, level, first_whole, end_whole))
    if end is not None:
        parts += _cover(scope, end_whole, end, finer)
    return parts
