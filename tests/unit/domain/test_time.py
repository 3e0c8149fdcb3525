from datetime import UTC, datetime, timedelta

import pytest

from analytics.domain.errors import InvalidQuery
from analytics.domain.time import Granularity, TimeRange, default_granularity

MOMENT = datetime(2024, 2, 7, 8, 41, 33, 123456, tzinfo=UTC)  # a Wednesday


@pytest.mark.parametrize(
    ("granularity", "start", "label"),
    [
        (Granularity.MINUTE, datetime(2024, 2, 7, 8, 41, tzinfo=UTC), "2024-02-07T08:41"),
        (Granularity.HOUR, datetime(2024, 2, 7, 8, tzinfo=UTC), "2024-02-07T08:00"),
        (Granularity.DAY, datetime(2024, 2, 7, tzinfo=UTC), "2024-02-07"),
        (Granularity.WEEK, datetime(2024, 2, 5, tzinfo=UTC), "2024-02-05"),
        (Granularity.MONTH, datetime(2024, 2, 1, tzinfo=UTC), "2024-02"),
    ],
)
def test_each_granularity_buckets_and_labels_a_moment(
    granularity: Granularity, start: datetime, label: str
) -> None:
    assert granularity.bucket_start(MOMENT) == start
    assert granularity.label(granularity.bucket_start(MOMENT)) == label


def test_a_week_starts_on_monday_even_across_a_month_and_year_boundary() -> None:
    sunday = datetime(2023, 1, 1, 23, 59, tzinfo=UTC)
    assert Granularity.WEEK.bucket_start(sunday) == datetime(2022, 12, 26, tzinfo=UTC)


@pytest.mark.parametrize(
    ("span", "expected"),
    [
        (timedelta(0), Granularity.MINUTE),
        (timedelta(hours=2), Granularity.MINUTE),
        (timedelta(hours=2, seconds=1), Granularity.HOUR),
        (timedelta(days=3), Granularity.HOUR),
        (timedelta(days=3, seconds=1), Granularity.DAY),
        (timedelta(days=400), Granularity.DAY),
    ],
)
def test_default_granularity_follows_the_span(span: timedelta, expected: Granularity) -> None:
    assert default_granularity(span) is expected


def test_a_time_range_is_half_open() -> None:
    time_range = TimeRange(MOMENT, MOMENT + timedelta(hours=1))
    assert time_range.contains(MOMENT)
    assert not time_range.contains(MOMENT + timedelta(hours=1))
    assert not time_range.contains(MOMENT - timedelta(microseconds=1))


def test_a_time_range_that_ends_before_it_starts_is_refused() -> None:
    with pytest.raises(InvalidQuery):
        TimeRange(MOMENT, MOMENT - timedelta(seconds=1))
