"""The two-stage percentile read (docs/storage.md, "How a dashboard is computed").

A time series bucket and a top endpoint each show one percentile, the p95, and a percentile
needs the fine counts of only the coarse bucket its rank falls in. So these read the coarse
rows first (`rollup_latency_coarse`, ~16 x fewer), pick the coarse bucket holding each p95
(`domain.latency.coarse_buckets_to_refine`), then read only those coarse buckets' fine rows.
What they return is each histogram refined for the p95 (`domain.latency.refined_histogram`),
exactly what the domain's reference gives.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
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
from analytics.domain.latency import (
    coarse_bucket,
    coarse_buckets_to_refine,
    coarse_histogram,
    refined_histogram,
)


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
    parts: Sequence[CoarseSeriesLatency],
    series_bucket: Callable[[int], datetime],
    known: Mapping[datetime, Mapping[int, int]],
) -> dict[datetime, dict[int, int]]:
    """Each series bucket's histogram, from the coarse rows of `parts` and the fine histograms
    `known` of the rest of the series (read in full: raw edges, say); `series_bucket` maps a
    rollup bucket to its own."""
    coarse_histograms = {start: coarse_histogram(counts) for start, counts in known.items()}
    rows_of: list[dict[datetime, list[int]]] = []  # per part: its rollup buckets in each
    for part in parts:
        buckets: dict[datetime, list[int]] = {}
        for bucket_us, rows in groupby(plain_rows(connection, part.coarse()), itemgetter(0)):
            start = series_bucket(bucket_us)
            buckets.setdefault(start, []).append(bucket_us)
            add_counts(coarse_histograms.setdefault(start, {}), rows)
        rows_of.append(buckets)
    wanted = {
        start: coarse_buckets_to_refine(counts, (ROW_PERCENTILE,))
        for start, counts in coarse_histograms.items()
    }
    fine: dict[datetime, dict[int, int]] = {
        start: {bucket: n for bucket, n in counts.items() if coarse_bucket(bucket) in wanted[start]}
        for start, counts in known.items()
    }
    for part, buckets in zip(parts, rows_of, strict=True):
        refine = {
            bucket_us: wanted[start]
            for start, in_start in buckets.items()
            if wanted[start]
            for bucket_us in in_start
        }
        if refine:
            fine_rows = plain_rows(connection, part.fine(refine))
            for bucket_us, rows in groupby(fine_rows, itemgetter(0)):
                add_counts(fine.setdefault(series_bucket(bucket_us), {}), rows)
    return _refined(coarse_histograms, fine)


def refined_endpoint_histograms(
    connection: Connection, coarse: CoarseEndpointLatency, endpoint_keys: Iterable[bytes]
) -> dict[bytes, dict[int, int]]:
    """Each endpoint's histogram, by endpoint key (an endpoint with no rows has none)."""
    coarse_histograms: dict[bytes, dict[int, int]] = {}
    where: dict[tuple[bytes, int], tuple[set[int], set[str]]] = {}  # buckets, methods
    for key, bucket_us, method, bucket, n in plain_rows(
        connection, coarse.coarse(list(endpoint_keys))
    ):
        histogram = coarse_histograms.setdefault(key, {})
        histogram[bucket] = histogram.get(bucket, 0) + int(n)
        buckets, methods = where.setdefault((key, bucket), (set(), set()))
        buckets.add(bucket_us)
        methods.add(method)
    parts = [
        FineEndpointRows(key, *where[key, bucket], bucket)
        for key, histogram in coarse_histograms.items()
        for bucket in coarse_buckets_to_refine(histogram, (ROW_PERCENTILE,))
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
