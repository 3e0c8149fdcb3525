"""Time ranges and the granularities a dashboard's time series is bucketed by. All UTC."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from analytics.domain.errors import InvalidQuery

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class Granularity(StrEnum):
    MINUTE = "minute"
    HOUR = "hour"
    DAY = "day"
    WEEK = "week"
    MONTH = "month"

    def bucket_start(self, moment: datetime) -> datetime:
        """The start of the bucket holding `moment` (a UTC-aware datetime)."""
        if self is Granularity.MINUTE:
            return moment.replace(second=0, microsecond=0)
        if self is Granularity.HOUR:
            return moment.replace(minute=0, second=0, microsecond=0)
        day = moment.replace(hour=0, minute=0, second=0, microsecond=0)
        if self is Granularity.DAY:
            return day
        if self is Granularity.WEEK:
            return day - timedelta(days=day.weekday())  # weeks start on Monday
        return day.replace(day=1)

    def label(self, bucket_start: datetime) -> str:
        """The `timestamp` a time-series row shows for the bucket starting at `bucket_start`."""
        return bucket_start.strftime(_LABEL_FORMATS[self])


_LABEL_FORMATS = {
    Granularity.MINUTE: "%Y-%m-%dT%H:%M",
    Granularity.HOUR: "%Y-%m-%dT%H:00",
    Granularity.DAY: "%Y-%m-%d",
    Granularity.WEEK: "%Y-%m-%d",
    Granularity.MONTH: "%Y-%m",
}

MINUTE_SPAN_LIMIT = timedelta(hours=2)
HOUR_SPAN_LIMIT = timedelta(days=3)


def default_granularity(span: timedelta) -> Granularity:
    """The granularity that gives a readable series for a range this long."""
    if span <= MINUTE_SPAN_LIMIT:
        return Granularity.MINUTE
    if span <= HOUR_SPAN_LIMIT:
        return Granularity.HOUR
    return Granularity.DAY


@dataclass(frozen=True, slots=True)
class TimeRange:
    """The half-open range [start, end); a missing bound is open."""

    start: datetime | None = None
    end: datetime | None = None

    def __post_init__(self) -> None:
        if self.start is not None and self.end is not None and self.start > self.end:
            raise InvalidQuery("start must not be after end")

    def contains(self, moment: datetime) -> bool:
        if self.start is not None and moment < self.start:
            return False
        return self.end is None or moment < self.end

    @property
    def is_bounded(self) -> bool:
        return self.start is not None and self.end is not None
