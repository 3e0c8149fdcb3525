import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from analytics.domain.latency import (
    RELATIVE_ACCURACY,
    ZERO_BUCKET,
    bucket_value,
    histogram_of,
    latency_bucket,
    percentile,
)

latencies_us = st.integers(min_value=0, max_value=86_400_000_000)


def exact_nearest_rank(values: list[int], quantile: float) -> int:
    ordered = sorted(values)
    return ordered[max(1, math.ceil(quantile * len(ordered))) - 1]


@given(latencies_us)
def test_bucket_value_is_within_relative_accuracy_of_every_value_in_the_bucket(value: int) -> None:
    estimate = bucket_value(latency_bucket(value))
    assert abs(estimate - value) <= RELATIVE_ACCURACY * value + 1e-9


@given(
    st.lists(latencies_us, min_size=1, max_size=300),
    st.sampled_from([0.01, 0.5, 0.9, 0.95, 0.99, 1.0]),
)
def test_percentile_is_within_one_percent_of_the_exact_nearest_rank(
    values: list[int], quantile: float
) -> None:
    estimate = percentile(histogram_of(values), quantile, min(values), max(values))
    exact = exact_nearest_rank(values, quantile)
    assert abs(estimate - exact) <= RELATIVE_ACCURACY * exact + 1e-9


def test_zero_latency_has_its_own_bucket_and_reports_zero() -> None:
    assert latency_bucket(0) == ZERO_BUCKET
    assert percentile({ZERO_BUCKET: 3}, 0.5, 0, 0) == 0.0


def test_extremes_are_clamped_to_the_exact_minimum_and_maximum() -> None:
    values = [1000, 2000, 3000]
    histogram = histogram_of(values)
    assert percentile(histogram, 1.0, 1000, 3000) == 3000
    assert percentile(histogram, 0.01, 1000, 3000) == 1000


def test_percentile_of_an_empty_histogram_is_refused() -> None:
    with pytest.raises(ValueError):
        percentile({}, 0.5, 0, 0)
