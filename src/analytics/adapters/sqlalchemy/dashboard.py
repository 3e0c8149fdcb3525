"""The dashboard's aggregate queries over a `Source`, assembled into `DashboardData`.

SQL does the summing, grouping and ranking; Python only merges the few grouped rows into
the domain's `RequestStats`. Sums stay integers (the domain divides), ties in rankings
are broken by code point (SQLite's default BINARY collation; `COLLATE "C"` on PostgreSQL),
exactly as `domain.metrics` does.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from itertools import groupby
from operator import itemgetter
from typing import TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from analytics.adapters.sqlalchemy.mapping import from_epoch_us
from analytics.adapters.sqlalchemy.refined_reads import (
    add_counts,
    plain_rows,
    refined_endpoint_histograms,
    refined_series_histograms,
)
from analytics.adapters.sqlalchemy.rollups import ANY_ENDPOINT, BUCKET_WIDTH_US, endpoint_key
from analytics.adapters.sqlalchemy.sources import (
    SUMMED_OVER_METHODS,
    CombinedSource,
    IpBuckets,
    RollupSource,
    Source,
    bucket_criteria,
)
from analytics.adapters.sqlalchemy.tables import IP_RANKING_INDEX, rollup_ips
from analytics.domain.dashboard import (
    ROW_PERCENTILE,
    BucketStats,
    DashboardData,
    EndpointStats,
    IpCount,
)
from analytics.domain.latency import refine
from analytics.domain.logs import ERROR_STATUS_FROM
from analytics.domain.stats import RequestStats
from analytics.domain.time import Granularity

MINUTE_US = 60_000_000
HOUR_US = 60 * MINUTE_US
DAY_US = 24 * HOUR_US
# 1970-01-01 was a Thursday; Monday-based weeks start 4 days later.
_WEEK_OFFSET_US = 4 * DAY_US
# Months are not a fixed width: group by day in SQL, merge the days into months in Python.
_BUCKET_WIDTH_US = {
    Granularity.MINUTE: MINUTE_US,
    Granularity.HOUR: HOUR_US,
    Granularity.DAY: DAY_US,
    Granularity.WEEK: 7 * DAY_US,
    Granularity.MONTH: DAY_US,
}


class DashboardReader:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection
        self._postgres = connection.dialect.name == "postgresql"

    def read(
        self, totals: Source, series: Source, granularity: Granularity, top: int
    ) -> DashboardData:
        """The dashboard of `totals`, with the time series of `series` (the same logs)."""
        overall, method_usage, status_codes = self._overall(totals)
        overall.histogram = self._histogram(totals)
        endpoints = self._endpoints(totals, top)
        top_ips, unique_ips = self._ips(totals, top)
        return DashboardData(
            overall=overall,
            unique_ips=unique_ips,
            method_usage=method_usage,
            status_codes=status_codes,
            endpoints=endpoints,
            top_ips=top_ips,
            time_series=self._time_series(series, granularity),
        )

    def _overall(self, source: Source) -> tuple[RequestStats, dict[str, int], dict[int, int]]:
        rows = _union(source.totals(per_method=True))
        statement = sa.select(
            rows.c.method, rows.c.status_code, *_traffic_sums(rows, count_errors=False)
        ).group_by(rows.c.method, rows.c.status_code)
        overall = RequestStats()
        methods: dict[str, int] = {}
        statuses: dict[int, int] = {}
        for row in self._connection.execute(statement).all():
            requests = int(row.requests)
            is_error = row.status_code >= ERROR_STATUS_FROM
            overall.merge(_stats(requests, requests if is_error else 0, row))
            methods[row.method] = methods.get(row.method, 0) + requests
            statuses[row.status_code] = statuses.get(row.status_code, 0) + requests
        return overall, methods, statuses

    def _histogram(self, source: Source) -> dict[int, int]:
        rows = _union(source.latency())
        statement = sa.select(rows.c.latency_bucket, sa.func.sum(rows.c.requests)).group_by(
            rows.c.latency_bucket
        )
        # A bucket whose rows were all subtracted again sums to 0: it holds no log.
        return {bucket: int(n) for bucket, n in plain_rows(self._connection, statement) if n}

    def _endpoints(self, source: Source, top: int) -> tuple[EndpointStats, ...]:
        rows = _union(source.traffic())
        sums = _traffic_sums(rows, count_errors=True)
        statement = (
            sa.select(rows.c.endpoint, *sums)
            .group_by(rows.c.endpoint)
            .order_by(sa.desc("requests"), self._code_point_order(rows.c.endpoint))
            .limit(top)
        )
        ranked = {
            row.endpoint: _stats(int(row.requests), int(row.errors), row)
            for row in self._connection.execute(statement).all()
        }
        if ranked:
            for endpoint, histogram in self._endpoint_histograms(source, list(ranked)).items():
                ranked[endpoint].histogram = histogram
        return tuple(EndpointStats(endpoint, stats) for endpoint, stats in ranked.items())

    def _endpoint_histograms(
        self, source: Source, endpoints: list[str]
    ) -> dict[str, dict[int, int]]:
        """The endpoints' histograms refined for the p95: two-stage where whole day or
        all-time rollups allow it, the rest (raw edges, hours) read in full."""
        coarse, rest = _split_parts(source, lambda part: part.coarse_endpoint_latency())
        known: dict[str, dict[int, int]] = {}
        selects = rest.latency(endpoints) if rest is not None else []
        if selects:
            latency = _union(selects)
            histograms = sa.select(
                latency.c.endpoint, latency.c.latency_bucket, sa.func.sum(latency.c.requests)
            ).group_by(latency.c.endpoint, latency.c.latency_bucket)
            for endpoint, bucket, n in plain_rows(self._connection, histograms):
                if n:  # a bucket whose rows were all subtracted again holds no log
                    known.setdefault(endpoint, {})[bucket] = int(n)
        if coarse:
            names = {endpoint_key(endpoint): endpoint for endpoint in endpoints}
            return refined_endpoint_histograms(self._connection, coarse, names, known)
        return {endpoint: refine(counts, (ROW_PERCENTILE,)) for endpoint, counts in known.items()}

    def _ips(self, source: Source, top: int) -> tuple[tuple[IpCount, ...], int]:
        buckets = source.ip_buckets()
        if buckets is not None:
            bucket = self._only_ip_bucket(buckets)
            if bucket is not None:
                return self._ranked_ips(buckets, bucket, top)
        rows = _union(source.ips())
        requests = sa.func.sum(rows.c.requests)
        per_ip = (
            sa.select(rows.c.ip, requests.label("requests"))
            .group_by(rows.c.ip)
            .having(requests > 0)  # an IP seen only where rows were subtracted sums to 0
            .subquery()
        )
        # One pass: the top rows, each carrying the number of distinct IPs.
        ranked = (
            sa.select(per_ip.c.ip, per_ip.c.requests, sa.func.count().over().label("unique"))
            .order_by(per_ip.c.requests.desc(), self._code_point_order(per_ip.c.ip))
            .limit(max(top, 1))
        )
        result = self._connection.execute(ranked).all()
        top_ips = tuple(IpCount(row.ip, int(row.requests)) for row in result[:top])
        return top_ips, int(result[0].unique) if result else 0

    def _only_ip_bucket(self, buckets: IpBuckets) -> int | None:
        """The one bucket holding all of `buckets`' IP rows; None if several (or none)."""
        ips = rollup_ips.c
        criteria = _ranked_ip_criteria(buckets, bucket_criteria(rollup_ips, *buckets.range))
        first = sa.select(sa.func.min(ips.bucket_us)).where(*criteria).scalar_subquery()
        last = sa.select(sa.func.max(ips.bucket_us)).where(*criteria).scalar_subquery()
        first_us, last_us = self._connection.execute(sa.select(first, last)).one()
        return first_us if first_us is not None and first_us == last_us else None

    def _ranked_ips(
        self, buckets: IpBuckets, bucket_us: int, top: int
    ) -> tuple[tuple[IpCount, ...], int]:
        """One bucket's top IPs: the first rows of the index by count, not a ranking of all;
        and its distinct IPs: its rows, counted."""
        ips = rollup_ips.c
        criteria = _ranked_ip_criteria(buckets, [ips.bucket_us == bucket_us])
        ranked = (
            sa.select(ips.ip, ips.requests)
            .where(*criteria)
            .order_by(ips.requests.desc(), self._code_point_order(ips.ip))
            .limit(top)
            .with_hint(rollup_ips, f"INDEXED BY {IP_RANKING_INDEX}", "sqlite")
        )
        top_ips = tuple(IpCount(ip, int(n)) for ip, n in self._connection.execute(ranked).all())
        unique = sa.select(sa.func.count()).where(*criteria, ips.endpoint_key == ANY_ENDPOINT)
        return top_ips, int(self._connection.execute(unique).scalar_one())

    def _time_series(self, source: Source, granularity: Granularity) -> tuple[BucketStats, ...]:
        by_bucket: dict[datetime, RequestStats] = {}
        starts = _BucketStarts(granularity)
        traffic = _union(source.totals(per_method=False))
        bucket = _bucket_start(traffic.c.t, granularity).label("bucket")
        statement = sa.select(bucket, *_traffic_sums(traffic, count_errors=True)).group_by(bucket)
        for row in self._connection.execute(statement).all():
            stats = _stats(int(row.requests), int(row.errors), row)
            by_bucket.setdefault(starts[row.bucket], RequestStats()).merge(stats)
        histograms = self._series_histograms(source, granularity, starts)
        for start, histogram in histograms.items():
            by_bucket[start].histogram = histogram
        return tuple(BucketStats(start, by_bucket[start]) for start in sorted(by_bucket))

    def _series_histograms(
        self, source: Source, granularity: Granularity, starts: _BucketStarts
    ) -> dict[datetime, dict[int, int]]:
        """Each series bucket's histogram refined for the p95: two-stage where whole rollup
        buckets allow it, the rest (raw edges, finer levels) read in full and refined here."""
        coarse, rest = _split_parts(
            source,
            lambda part: (
                part.coarse_series_latency() if _in_series_buckets(part, granularity) else None
            ),
        )
        known: dict[datetime, dict[int, int]] = {}
        if rest is not None:
            for start_us, rows in groupby(
                plain_rows(self._connection, _series_latency(rest, granularity)), itemgetter(0)
            ):
                add_counts(known.setdefault(starts[start_us], {}), rows)
        if coarse:
            return refined_series_histograms(self._connection, coarse, starts.__getitem__, known)
        return {start: refine(counts, (ROW_PERCENTILE,)) for start, counts in known.items()}

    def _code_point_order(self, column: sa.ColumnElement[str]) -> sa.ColumnElement[str]:
        # SQLite's default BINARY collation already compares UTF-8 bytes, i.e. code points.
        return sa.collate(column, "C") if self._postgres else column


def _series_latency(source: Source, granularity: Granularity) -> sa.Select:
    """(series bucket start, latency bucket, requests) rows, ordered by bucket start."""
    latency = _union(source.latency())
    if _in_series_buckets(source, granularity):
        # Rows already lie one bucket each: reading them in index order costs less than
        # grouping them in SQL (the caller adds up the few that share a latency bucket).
        return sa.select(latency.c.t, latency.c.latency_bucket, latency.c.requests).order_by(
            latency.c.t
        )
    bucket = _bucket_start(latency.c.t, granularity).label("bucket")
    return (
        sa.select(bucket, latency.c.latency_bucket, sa.func.sum(latency.c.requests))
        .group_by(bucket, latency.c.latency_bucket)
        .order_by(bucket)
    )


_TwoStage = TypeVar("_TwoStage")


def _split_parts(
    source: Source, two_stage: Callable[[RollupSource], _TwoStage | None]
) -> tuple[list[_TwoStage], Source | None]:
    """The latency parts of `source` that `two_stage` can read two-stage, and the rest as one
    source, to be read in full."""
    coarse: list[_TwoStage] = []
    rest: list[Source] = []
    for part in source.latency_parts():
        handle = two_stage(part) if isinstance(part, RollupSource) else None
        if handle is None:
            rest.append(part)
        else:
            coarse.append(handle)
    if not rest:
        return coarse, None
    return coarse, rest[0] if len(rest) == 1 else CombinedSource(rest)


def _in_series_buckets(source: Source, granularity: Granularity) -> bool:
    """Whether every row's `t` is already the start of the bucket SQL would group it into."""
    # Weeks (7 days, starting on Mondays) match no level's width, so they are grouped.
    return (
        isinstance(source, RollupSource)
        and BUCKET_WIDTH_US.get(source.level) == _BUCKET_WIDTH_US[granularity]
    )


def _union(selects: Sequence[sa.Select]) -> sa.Subquery:
    if len(selects) == 1:
        return selects[0].subquery()
    return sa.union_all(*selects).subquery()


def _ranked_ip_criteria(
    buckets: IpBuckets, bucket: Sequence[sa.ColumnElement[bool]]
) -> list[sa.ColumnElement[bool]]:
    """The owner's IP rows summed over methods at `buckets.level`, in `bucket`. Literal
    level and method, so that both databases see the index's `WHERE method = ''` hold."""
    ips = rollup_ips.c
    return [
        ips.owner_id == buckets.owner_id,
        ips.level == sa.literal_column(str(int(buckets.level))),
        *bucket,
        ips.method == SUMMED_OVER_METHODS,
    ]


def _traffic_sums(rows: sa.Subquery, count_errors: bool) -> list[sa.ColumnElement]:
    sums: list[sa.ColumnElement] = [sa.func.sum(rows.c.requests).label("requests")]
    if count_errors:
        error_requests = sa.case(
            (rows.c.status_code >= ERROR_STATUS_FROM, rows.c.requests), else_=0
        )
        sums.append(sa.func.sum(error_requests).label("errors"))
    return [
        *sums,
        sa.func.sum(rows.c.sum_us).label("sum_us"),
        sa.func.min(rows.c.min_us).label("min_us"),
        sa.func.max(rows.c.max_us).label("max_us"),
    ]


def _stats(requests: int, errors: int, row: sa.Row) -> RequestStats:
    # PostgreSQL sums BIGINTs into NUMERIC: back to int, exactly.
    return RequestStats(
        requests=requests,
        errors=errors,
        sum_us=int(row.sum_us),
        min_us=int(row.min_us),
        max_us=int(row.max_us),
    )


def _bucket_start(t: sa.ColumnElement[int], granularity: Granularity) -> sa.ColumnElement[int]:
    """The start of the bucket holding `t`, by integer arithmetic (floor, also before 1970)."""
    width = sa.literal_column(str(_BUCKET_WIDTH_US[granularity]), sa.BigInteger)
    offset = _WEEK_OFFSET_US if granularity is Granularity.WEEK else 0
    shifted = t - sa.literal_column(str(offset), sa.BigInteger) if offset else t
    # SQL's % keeps the dividend's sign; adding the width once more makes it a floor modulo.
    return t - (shifted % width + width) % width


class _BucketStarts(dict[int, datetime]):
    """The series bucket of a time SQL grouped by (for months: a day), converted once each."""

    def __init__(self, granularity: Granularity) -> None:
        super().__init__()
        self._granularity = granularity

    def __missing__(self, start_us: int) -> datetime:
        start = self[start_us] = self._granularity.bucket_start(from_epoch_us(start_us))
        return start
