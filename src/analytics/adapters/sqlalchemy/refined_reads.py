"""The two-stage percentile read (docs/storage.md, "How a dashboard is computed").

A time series bucket and a top endpoint each show one percentile, the p95, and a percentile
needs the fine counts of only the coarse bucket its rank falls in. So these read the coarse
rows first (`rollup_latency_coarse`, ~16 x fewer), pick the coarse bucket holding each p95
(`domain.latency.coarse_buckets_to_refine`), then read only those coarse buckets' fine rows.
What they return is each histogram refined for the p95 (`domain.latency.refined_histogram`),
exactly what the domain's reference gives.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Sequence
from datetime import datetime
from itertools import groupby
from operator import itemgetter
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from analytics.adapters.sqlalchemy.sources import (
    CoarseEndpointLatency,
    CoarseSeriesLatency,
    FineEndpointRows,
)
from analytics.domain.dashboard import ROW_PERCENTILE
from analytics.domain.latency import coarse_buckets_to_refine, refined_histogram


def plain_rows(connection: Connection, statement: sa.Select | sa.CompoundSelect) -> Sequence[tuple]:
    """All rows as the driver's plain tuples. For the latency histograms' thousands of
    rows, building SQLAlchemy `Row`s cost as much as the database's own work."""
    result = connection.execute(statement)
    try:
        return result.cursor.fetchall()
    finally:
        result.close()


def add_counts(histogram: dict[int, int], rows: Iterable[tuple[Any, int, int]]) -> None:
    """Add `(_, bucket, requests)` rows into `histogram`."""
    for _, bucket, n in rows:
        histogram[bucket] = histogram.get(bucket, 0) + int(n)


def refined_series_histograms(
    connection: Connection,
    coarse: CoarseSeriesLatency,
    series_bucket: Callable[[int], datetime],
) -> dict[datetime, dict[int, int]]:
    """Each series bucket's histogram; `series_bucket` maps a rollup bucket to its own."""
    coarse_histograms: dict[datetime, dict[int, int]] = {}
    rows_of: dict[datetime, list[int]] = {}  # the rollup buckets in each series bucket
    for bucket_us, rows in groupby(plain_rows(connection, coarse.coarse()), itemgetter(0)):
        start = series_bucket(bucket_us)
        rows_of.setdefault(start, []).append(bucket_us)
        add_counts(coarse_histograms.setdefault(start, {}), rows)
    refine: dict[int, set[int]] = {}
    for start, histogram in coarse_histograms.items():
        wanted = coarse_buckets_to_refine(histogram, (ROW_PERCENTILE,))
        if wanted:
            refine.update(dict.fromkeys(rows_of[start], wanted))
    fine: dict[datetime, dict[int, int]] = {}
    if refine:
        for bucket_us, rows in groupby(plain_rows(connection, coarse.fine(refine)), itemgetter(0)):
            add_counts(fine.setdefault(series_bucket(bucket_us), {}), rows)
    return _refined(coarse_histograms, fine)


def refined_endpoint_histograms(
    connection: Connection, coarse: CoarseEndpointLatency, endpoint_keys: Iterable[bytes]
) -> dict[bytes, dict[int, int]]:
    """Each endpoint's histogram, by endpoint key (an endpoint with no rows has none)."""
    coarse_histograms: dict[bytes, dict[int, int]] = {}
    where: dict[tuple[bytes, int], tuple[set[int], set[str]]] = {}  # buckets, methods
    for key, bucket_us, method, coarse_bucket, n in plain_rows(
        connection, coarse.coarse(list(endpoint_keys))
    ):
        histogram = coarse_histograms.setdefault(key, {})
        histogram[coarse_bucket] = histogram.get(coarse_bucket, 0) + int(n)
        buckets, methods = where.setdefault((key, coarse_bucket), (set(), set()))
        buckets.add(bucket_us)
        methods.add(method)
    parts = [
        FineEndpointRows(key, *where[key, coarse_bucket], coarse_bucket)
        for key, histogram in coarse_histograms.items()
        for coarse_bucket in coarse_buckets_to_refine(histogram, (ROW_PERCENTILE,))
    ]
    fine: dict[bytes, dict[int, int]] = {}
    if parts:
        for key, rows in groupby(plain_rows(connection, coarse.fine(parts)), itemgetter(0)):
            add_counts(fine.setdefault(key, {}), rows)
    return _refined(coarse_histograms, fine)


_Key = TypeVar("_Key", bound=Hashable)


def _refined(
    coarse: dict[_Key, dict[int, int]], fine: dict[_Key, dict[int, int]]
) -> dict[_Key, dict[int, int]]:
    return {
        key: refined_histogram(histogram, fine.get(key, {})) for key, histogram in coarse.items()
    }
