"""Rollups: what a batch of logs adds to the pre-aggregated tables.

A batch is summed in Python at the hour level first (one dictionary update per log and
table), then the hour sums are merged into day and all-time sums, into the ANY_ENDPOINT
rows and into the totals (summed over endpoints); the result is a few upsert rows per
table, sorted by primary key so that concurrent PostgreSQL transactions lock shared rows
in one order and never deadlock.
Rows are tuples in the column order of the `*_COLUMNS` constants.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

HOUR_US = 3_600_000_000
DAY_US = 24 * HOUR_US
ANY_ENDPOINT = b""  # never a digest: those are 16 bytes
ANY_METHOD = ""  # never a method


class Level(IntEnum):
    HOUR = 1
    DAY = 2
    ALL = 3  # one bucket, 0, for all time


# Levels at which the ANY_ENDPOINT rows are also summed over methods (method ANY_METHOD), for
# the dashboards read most: latency for hour-by-hour and day-by-day series; IPs for all time
# and single days, where an index on their counts reads the top IPs without ranking them all
# (docs/storage.md). Elsewhere an unfiltered read sums the few methods itself.
LATENCY_ANY_METHOD_LEVELS = frozenset({Level.HOUR, Level.DAY})
IP_ANY_METHOD_LEVELS = frozenset({Level.DAY, Level.ALL})


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
    ips: list[Row]
    span: Row


def rollups_of(owner_id: str, log_rows: Iterable[Sequence[Any]]) -> BatchRollups:
    """The rollups of raw rows, each starting with the AGGREGATED_COLUMNS, all of `owner_id`."""
    keys: dict[str, bytes] = {}
    # (hour, key, method, status) -> [endpoint, requests, sum_us, min_us, max_us]
    traffic: dict[tuple, list[Any]] = {}
    latency: dict[tuple, int] = {}  # (key, hour, method, latency_bucket) -> requests
    ips: dict[tuple, int] = {}  # (key, hour, method, ip) -> requests
    first = last = None
    for _, created, method, endpoint, ip, status, took, bucket, *_ in log_rows:
        key = keys.get(endpoint)
        if key is None:
            key = keys[endpoint] = endpoint_key(endpoint)
        hour = created - created % HOUR_US  # Python's % is a floor modulo, also before 1970
        sums = traffic.get((hour, key, method, status))
        if sums is None:
            traffic[(hour, key, method, status)] = [endpoint, 1, took, took, took]
        else:
            sums[1] += 1
            sums[2] += took
            if took < sums[3]:
                sums[3] = took
            if took > sums[4]:
                sums[4] = took
        latency_key = (key, hour, method, bucket)
        latency[latency_key] = latency.get(latency_key, 0) + 1
        if ip is not None:
            ip_key = (key, hour, method, ip)
            ips[ip_key] = ips.get(ip_key, 0) + 1
        if first is None or created < first:
            first = created
        if last is None or created > last:
            last = created
    if first is None:
        raise ValueError("a batch without logs has no rollups")
    return BatchRollups(
        traffic=_traffic_rows(owner_id, traffic),
        totals=_totals_rows(owner_id, traffic),
        latency=_count_rows(owner_id, latency, LATENCY_ANY_METHOD_LEVELS),
        ips=_count_rows(owner_id, ips, IP_ANY_METHOD_LEVELS),
        span=(owner_id, first, last),
    )


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
    target[-2] = min(target[-2], sums[-2])
    target[-1] = max(target[-1], sums[-1])


def _count_rows(
    owner_id: str, hourly: dict[tuple, int], any_method_levels: frozenset[Level]
) -> list[Row]:
    """Rows keyed (endpoint_key, bucket, method, value) at every level, plus the
    ANY_ENDPOINT rows that sum all endpoints (and at `any_method_levels` all methods too)."""
    by_hour = dict(hourly)
    for (_, hour, method, value), n in hourly.items():
        any_key = (ANY_ENDPOINT, hour, method, value)
        by_hour[any_key] = by_hour.get(any_key, 0) + n
    by_day: dict[tuple, int] = {}
    for (key, hour, method, value), n in by_hour.items():
        day_key = (key, hour - hour % DAY_US, method, value)
        by_day[day_key] = by_day.get(day_key, 0) + n
    all_time: dict[tuple, int] = {}
    for (key, _, method, value), n in by_day.items():
        all_key = (key, 0, method, value)
        all_time[all_key] = all_time.get(all_key, 0) + n
    levels = {Level.HOUR: by_hour, Level.DAY: by_day, Level.ALL: all_time}
    rows: list[Row] = []
    for level, counts in levels.items():
        rows += [(owner_id, level.value, *key, n) for key, n in counts.items()]
        if level in any_method_levels:
            rows += _any_method_rows(owner_id, level, counts)
    rows.sort()  # by primary key: the value columns after it never decide, keys are unique
    return rows


def _any_method_rows(owner_id: str, level: Level, counts: dict[tuple, int]) -> list[Row]:
    summed: dict[tuple, int] = {}
    for (key, bucket, _, value), n in counts.items():
        if key == ANY_ENDPOINT:
            any_key = (key, bucket, ANY_METHOD, value)
            summed[any_key] = summed.get(any_key, 0) + n
    return [(owner_id, level.value, *key, n) for key, n in summed.items()]
