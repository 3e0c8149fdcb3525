import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from analytics.domain.latency import (
    RELATIVE_ACCURACY,
    ZERO_BUCKET,
    bucket_value,
    coarse_bucket,
    coarse_buckets_to_refine,
    coarse_histogram,
    histogram_of,
    latency_bucket,
    percentile,
    refine,
    refined_histogram,
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


@given(
    st.lists(latencies_us, min_size=1, max_size=300),
    st.lists(st.sampled_from([0.01, 0.5, 0.9, 0.95, 0.99, 1.0]), min_size=1, max_size=3),
)
def test_a_refined_histogram_has_the_full_histograms_percentiles(
    values: list[int], quantiles: list[float]
) -> None:
    full = histogram_of(values)
    coarse = coarse_histogram(full)
    wanted = coarse_buckets_to_refine(coarse, quantiles)
    fine = {bucket: n for bucket, n in full.items() if coarse_bucket(bucket) in wanted}

    refined = refined_histogram(coarse, fine)

    for quantile in quantiles:
        expected = percentile(full, quantile, min(values), max(values))
        assert percentile(refined, quantile, min(values), max(values)) == expected
    assert refined == refine(full, quantiles)
    assert len(refined) <= len(coarse) + 16 * len(quantiles)


def test_refining_reads_no_fine_bucket_for_the_minimum_and_maximum() -> None:
    coarse = coarse_histogram(histogram_of([10, 1000, 100_000]))
    assert coarse_buckets_to_refine(coarse, [0.01, 1.0]) == set()
    assert coarse_buckets_to_refine(coarse, [0.5]) == {coarse_bucket(latency_bucket(1000))}


def test_coarse_buckets_hold_sixteen_buckets_and_zero_its_own() -> None:
    assert {coarse_bucket(bucket) for bucket in range(16, 32)} == {1}
    assert coarse_bucket(ZERO_BUCKET) == -1
    assert coarse_bucket(0) == 0
