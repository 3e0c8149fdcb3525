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
    wanted, fine = _p95_coarse_buckets(coarse_histograms, known)
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
    connection: Connection,
    parts: Sequence[CoarseEndpointLatency],
    names: Mapping[bytes, str],
    known: Mapping[str, Mapping[int, int]],
) -> dict[str, dict[int, int]]:
    """Each endpoint's histogram, by name, from the coarse rows of `parts` and the fine
    histograms `known` of the rest of the range (read in full: raw edges, hours, hours
    subtracted); `names` maps the wanted endpoints' keys to their names."""
    coarse_histograms = {name: coarse_histogram(counts) for name, counts in known.items()}
    coarse_rows = [plain_rows(connection, part.coarse(names)) for part in parts]
    for rows in coarse_rows:
        for key, _, _, bucket, n in rows:
            histogram = coarse_histograms.setdefault(names[key], {})
            histogram[bucket] = histogram.get(bucket, 0) + int(n)
    wanted, fine = _p95_coarse_buckets(coarse_histograms, known)
    for part, rows in zip(parts, coarse_rows, strict=True):
        # Where each wanted coarse bucket's fine rows are: the buckets and methods having it.
        where: dict[tuple[bytes, int], tuple[set[int], set[str]]] = {}
        for key, bucket_us, method, bucket, _ in rows:
            if bucket in wanted[names[key]]:
                buckets, methods = where.setdefault((key, bucket), (set(), set()))
                buckets.add(bucket_us)
                methods.add(method)
        if where:
            reads = [FineEndpointRows(key, *at, bucket) for (key, bucket), at in where.items()]
            for key, fine_rows in groupby(plain_rows(connection, part.fine(reads)), itemgetter(0)):
                add_counts(fine.setdefault(names[key], {}), fine_rows)
    return _refined(coarse_histograms, fine)


_Key = TypeVar("_Key", bound=Hashable)


def _p95_coarse_buckets(
    coarse: Mapping[_Key, Mapping[int, int]], known: Mapping[_Key, Mapping[int, int]]
) -> tuple[dict[_Key, set[int]], dict[_Key, dict[int, int]]]:
    """Per key, the coarse buckets holding its p95, and the fine counts `known` has in them."""
    wanted = {
        key: coarse_buckets_to_refine(counts, (ROW_PERCENTILE,)) for key, counts in coarse.items()
    }
    fine = {
        key: {bucket: n for bucket, n in counts.items() if coarse_bucket(bucket) in wanted[key]}
        for key, counts in known.items()
    }
    return wanted, fine


def _refined(
    coarse: dict[_Key, dict[int, int]], fine: dict[_Key, dict[int, int]]
) -> dict[_Key, dict[int, int]]:
    return {
        key: refined_histogram(histogram, fine.get(key, {})) for key, histogram in coarse.items()
    }
