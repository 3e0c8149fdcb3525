"""Rollups: what a batch of logs adds to the pre-aggregated tables.

A batch is summed in Python column by column: latency and IP counts with `Counter`s over
the zipped columns of its logs (a loop in C), at each level and for the ANY_ENDPOINT rows;
traffic with one dictionary update per log at the hour level, then the hour sums merged
into day and all-time sums and into the totals (summed over endpoints). The result is one
upsert row per distinct key and table, sorted by primary key so that concurrent PostgreSQL
transactions lock shared rows in one order and never deadlock.
Rows are tuples in the column order of the `*_COLUMNS` constants.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from enum import IntEnum
from itertools import compress, repeat
from typing import Any

from analytics.domain.latency import coarse_bucket

HOUR_US = 3_600_000_000
DAY_US = 24 * HOUR_US
ANY_ENDPOINT = b""  # never a digest: those are 16 bytes
ANY_METHOD = ""  # never a method


class Level(IntEnum):
    HOUR = 1
    DAY = 2
    ALL = 3  # one bucket, 0, for all time


BUCKET_WIDTH_US = {Level.HOUR: HOUR_US, Level.DAY: DAY_US}


# Levels at which the ANY_ENDPOINT rows are also summed over methods (method ANY_METHOD), for
# the dashboards read most: latency for hour-by-hour and day-by-day series; IPs for all time
# and single days, where an index on their counts reads the top IPs without ranking them all
# (docs/storage.md). Elsewhere an unfiltered read sums the few methods itself.
LATENCY_ANY_METHOD_LEVELS = frozenset({Level.HOUR, Level.DAY})
IP_ANY_METHOD_LEVELS = frozenset({Level.DAY, Level.ALL})
# Levels at which each endpoint's latency also has coarse rows: the days and all time that
# whole-day and all-time dashboards rank endpoints over.
ENDPOINT_COARSE_LEVELS = frozenset({Level.DAY, Level.ALL})


# What rollups_of reads from each raw row (a prefix of mapping.LOG_COLUMNS).
AGGREGATED_COLUMNS = (
    "owner_id",
    "created_us",
    "method",
    "endpoint",
    "ip",
    "status_code",
    "process_time_us",
    "latency_bucket",
)
TRAFFIC_COLUMNS = (
    "owner_id",
    "level",
    "bucket_us",
    "endpoint_key",
    "method",
    "status_code",
    "endpoint",
    "requests",
    "sum_us",
    "min_us",
    "max_us",
)
LATENCY_COLUMNS = (
    "owner_id",
    "level",
    "endpoint_key",
    "bucket_us",
    "method",
    "latency_bucket",
    "requests",
)
# Summed over endpoints, per method and (method ANY_METHOD) over all methods.
TOTALS_COLUMNS = (
    "owner_id",
    "level",
    "bucket_us",
    "method",
    "status_code",
    "requests",
    "sum_us",
    "min_us",
    "max_us",
)
# rollup_latency with 16 latency buckets to one, for the rows read by percentile: those of all
# endpoints and methods where a time series reads them (LATENCY_ANY_METHOD_LEVELS), and each
# endpoint's per method where the top endpoints' p95 reads them (ENDPOINT_COARSE_LEVELS).
COARSE_LATENCY_COLUMNS = (
    "owner_id",
    "level",
    "endpoint_key",
    "bucket_us",
    "method",
    "coarse_bucket",
    "requests",
)
IP_COLUMNS = ("owner_id", "level", "endpoint_key", "bucket_us", "method", "ip", "requests")
SPAN_COLUMNS = ("owner_id", "first_us", "last_us")

Row = tuple[Any, ...]


def endpoint_key(endpoint: str) -> bytes:
    return hashlib.blake2b(endpoint.encode(), digest_size=16).digest()


@dataclass(frozen=True, slots=True)
class BatchRollups:
    """Upsert rows for each rollup table; each list sorted by primary key."""

    traffic: list[Row]
    totals: list[Row]
    latency: list[Row]
    latency_coarse: list[Row]
    ips: list[Row]
    span: Row


def rollups_of(owner_id: str, log_rows: Iterable[Sequence[Any]]) -> BatchRollups:
    """The rollups of raw rows, each starting with the AGGREGATED_COLUMNS, all of `owner_id`."""
    # Column by column: counting is then Counters over zipped columns, a loop in C.
    columns = list(zip(*log_rows, strict=True))
    if not columns:
        raise ValueError("a batch without logs has no rollups")
    _, created, methods, endpoints, ips, statuses, took, latency = columns[:8]
    digests = {endpoint: endpoint_key(endpoint) for endpoint in set(endpoints)}
    keys = list(map(digests.__getitem__, endpoints))
    hours = [moment - moment % HOUR_US for moment in created]  # floor modulo, also before 1970
    buckets = {
        Level.HOUR: hours,
        Level.DAY: [hour - hour % DAY_US for hour in hours],
        Level.ALL: [0] * len(hours),
    }
    traffic = _hourly_traffic(hours, keys, methods, statuses, endpoints, took)
    ip_buckets, ip_columns = buckets, (keys, methods, ips)
    known = [ip is not None for ip in ips]
    if not all(known):  # null IPs count nowhere in the IP rollups
        ip_buckets = {level: list(compress(bucket, known)) for level, bucket in buckets.items()}
        ip_columns = tuple(list(compress(column, known)) for column in ip_columns)
    return BatchRollups(
        traffic=_traffic_rows(owner_id, traffic),
        totals=_totals_rows(owner_id, traffic),
        latency=_count_rows(owner_id, buckets, (keys, methods, latency), LATENCY_ANY_METHOD_LEVELS),
        latency_coarse=_coarse_latency_rows(owner_id, buckets, (keys, methods, latency)),
        ips=_count_rows(owner_id, ip_buckets, ip_columns, IP_ANY_METHOD_LEVELS),
        span=(owner_id, min(created), max(created)),
    )


def _hourly_traffic(
    hours: Sequence[int],
    keys: Sequence[bytes],
    methods: Sequence[str],
    statuses: Sequence[int],
    endpoints: Sequence[str],
    took: Sequence[int],
) -> dict[tuple, list[Any]]:
    """(hour, key, method, status) -> [endpoint, requests, sum_us, min_us, max_us]."""
    hourly: dict[tuple, list[Any]] = {}
    groups = zip(hours, keys, methods, statuses, strict=True)
    for group, endpoint, value in zip(groups, endpoints, took, strict=True):
        sums = hourly.get(group)
        if sums is None:
            hourly[group] = [endpoint, 1, value, value, value]
            continue
        sums[1] += 1
        sums[2] += value
        if value < sums[3]:
            sums[3] = value
        elif value > sums[4]:
            sums[4] = value
    return hourly


def _traffic_rows(owner_id: str, hourly: dict[tuple, list[Any]]) -> list[Row]:
    hour_level, day_level, all_level = Level.HOUR.value, Level.DAY.value, Level.ALL.value
    rows = [(owner_id, hour_level, *key, *sums) for key, sums in hourly.items()]
    by_day: dict[tuple, list[Any]] = {}
    for (hour, key, method, status), sums in hourly.items():
        _merge_traffic(by_day, (hour - hour % DAY_US, key, method, status), sums)
    all_time: dict[tuple, list[Any]] = {}
    for (_, key, method, status), sums in by_day.items():
        _merge_traffic(all_time, (0, key, method, status), sums)
    rows += [(owner_id, day_level, *key, *sums) for key, sums in by_day.items()]
    rows += [(owner_id, all_level, *key, *sums) for key, sums in all_time.items()]
    rows.sort()  # by primary key: the value columns after it never decide, keys are unique
    return rows


def _totals_rows(owner_id: str, hourly: dict[tuple, list[Any]]) -> list[Row]:
    """The traffic summed over endpoints: per (bucket, method, status) and per
    (bucket, ANY_METHOD, status), at every level."""
    by_hour: dict[tuple, list[Any]] = {}
    for (hour, _, method, status), (_, *sums) in hourly.items():
        _merge_traffic(by_hour, (hour, method, status), sums)
        _merge_traffic(by_hour, (hour, ANY_METHOD, status), sums)
    by_day: dict[tuple, list[Any]] = {}
    for (hour, method, status), sums in by_hour.items():
        _merge_traffic(by_day, (hour - hour % DAY_US, method, status), sums)
    all_time: dict[tuple, list[Any]] = {}
    for (_, method, status), sums in by_day.items():
        _merge_traffic(all_time, (0, method, status), sums)
    levels = {Level.HOUR: by_hour, Level.DAY: by_day, Level.ALL: all_time}
    rows = [
        (owner_id, level.value, *key, *sums)
        for level, summed in levels.items()
        for key, sums in summed.items()
    ]
    rows.sort()  # by primary key: the value columns after it never decide, keys are unique
    return rows


def _merge_traffic(into: dict[tuple, list[Any]], key: tuple, sums: list[Any]) -> None:
    """Merge `sums`, ending in [requests, sum_us, min_us, max_us], into `into[key]`."""
    target = into.get(key)
    if target is None:
        into[key] = list(sums)
        return
    target[-4] += sums[-4]
    target[-3] += sums[-3]
    if sums[-2] < target[-2]:
        target[-2] = sums[-2]
    if sums[-1] > target[-1]:
        target[-1] = sums[-1]


def _count_rows(
    owner_id: str,
    buckets: dict[Level, Sequence[int]],
    columns: tuple[Sequence[bytes], Sequence[str], Sequence[Any]],
    any_method_levels: frozenset[Level],
) -> list[Row]:
    """Rows keyed (endpoint_key, bucket, method, value) at every level, plus the
    ANY_ENDPOINT rows that sum all endpoints (and at `any_method_levels` all methods too).

    `columns` are each log's endpoint key, method and value. The rows are appended level by
    level, ANY_ENDPOINT (the empty key, the smallest) before the endpoints, each part sorted
    on its own: the whole is in primary-key order without sorting it as a whole.
    """
    keys, methods, values = columns
    rows: list[Row] = []
    for level, bucket in buckets.items():
        number = level.value
        summed = Counter(zip(bucket, methods, values, strict=True))
        if level in any_method_levels:
            summed.update(zip(bucket, repeat(ANY_METHOD), values))
        rows += _sorted_rows((owner_id, number, ANY_ENDPOINT), summed)
        rows += _sorted_rows(
            (owner_id, number), Counter(zip(keys, bucket, methods, values, strict=True))
        )
    return rows


def _coarse_latency_rows(
    owner_id: str,
    buckets: dict[Level, Sequence[int]],
    columns: tuple[Sequence[bytes], Sequence[str], Sequence[int]],
) -> list[Row]:
    """COARSE_LATENCY_COLUMNS rows, in primary-key order as _count_rows gives them."""
    keys, methods, latency = columns
    coarse = [coarse_bucket(bucket) for bucket in latency]
    rows: list[Row] = []
    for level in Level:
        if level in LATENCY_ANY_METHOD_LEVELS:
            summed = Counter(zip(buckets[level], repeat(ANY_METHOD), coarse))
            rows += _sorted_rows((owner_id, level.value, ANY_ENDPOINT), summed)
        if level in ENDPOINT_COARSE_LEVELS:
            counts = Counter(zip(keys, buckets[level], methods, coarse, strict=True))
            rows += _sorted_rows((owner_id, level.value), counts)
    return rows


def _sorted_rows(prefix: tuple, counts: Counter[tuple]) -> Iterator[Row]:
    """`prefix + key + (count,)` for each key in order; the tuples are built in C (zip)."""
    ordered = sorted(counts)
    columns = zip(*ordered, strict=True)
    # The repeats are endless: the rows end with the counts.
    return zip(*map(repeat, prefix), *columns, map(counts.__getitem__, ordered), strict=False)
