"""Rollups: what a batch of logs adds to the pre-aggregated tables, and how to read them.

A batch is summed in Python at the hour level first (one dictionary update per log and
table), then the hour sums are merged into day and all-time sums, and into the
ANY_ENDPOINT rows; the result is a few upsert rows per table, sorted by primary key so that
concurrent PostgreSQL transactions lock shared rows in one order and never deadlock.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

HOUR_US = 3_600_000_000
DAY_US = 24 * HOUR_US
ANY_ENDPOINT = b""  # never a digest: those are 16 bytes


class Level(IntEnum):
    HOUR = 1
    DAY = 2
    ALL = 3  # one bucket, 0, for all time


LEVEL_WIDTH_US = {Level.HOUR: HOUR_US, Level.DAY: DAY_US}


def endpoint_key(endpoint: str) -> bytes:
    return hashlib.blake2b(endpoint.encode(), digest_size=16).digest()


@dataclass(frozen=True, slots=True)
class BatchRollups:
    """Upsert rows for each rollup table; each list sorted by primary key."""

    traffic: list[dict[str, Any]]
    latency: list[dict[str, Any]]
    ips: list[dict[str, Any]]
    span: dict[str, Any]


def rollups_of(owner_id: str, log_rows: Sequence[Mapping[str, Any]]) -> BatchRollups:
    """The rollup rows of raw `request_logs` rows (as `mapping.log_row` builds them)."""
    keys: dict[str, bytes] = {}
    # (bucket, key, method, status) -> [endpoint, requests, sum_us, min_us, max_us]
    traffic: dict[tuple, list[Any]] = {}
    latency: dict[tuple, int] = {}  # (key, bucket, method, latency_bucket) -> n
    ips: dict[tuple, int] = {}  # (key, bucket, method, ip) -> n
    for row in log_rows:
        endpoint = row["endpoint"]
        key = keys.get(endpoint)
        if key is None:
            key = keys[endpoint] = endpoint_key(endpoint)
        created = row["created_us"]
        hour = created - created % HOUR_US  # Python's % is a floor modulo, also before 1970
        method = row["method"]
        took = row["process_time_us"]
        sums = traffic.get((hour, key, method, row["status_code"]))
        if sums is None:
            traffic[(hour, key, method, row["status_code"])] = [endpoint, 1, took, took, took]
        else:
            sums[1] += 1
            sums[2] += took
            sums[3] = min(sums[3], took)
            sums[4] = max(sums[4], took)
        latency_key = (key, hour, method, row["latency_bucket"])
        latency[latency_key] = latency.get(latency_key, 0) + 1
        if row["ip"] is not None:
            ip_key = (key, hour, method, row["ip"])
            ips[ip_key] = ips.get(ip_key, 0) + 1
    moments = [row["created_us"] for row in log_rows]
    return BatchRollups(
        traffic=_traffic_rows(owner_id, traffic),
        latency=_count_rows(owner_id, latency, "latency_bucket"),
        ips=_count_rows(owner_id, ips, "ip"),
        span={"owner_id": owner_id, "first_us": min(moments), "last_us": max(moments)},
    )


def _coarser(bucket: int, level: Level) -> int:
    return 0 if level is Level.ALL else bucket - bucket % LEVEL_WIDTH_US[level]


def _traffic_rows(owner_id: str, hourly: dict[tuple, list[Any]]) -> list[dict[str, Any]]:
    levels: dict[Level, dict[tuple, list[Any]]] = {Level.HOUR: hourly}
    for level in (Level.DAY, Level.ALL):
        merged: dict[tuple, list[Any]] = {}
        for (hour, key, method, status), sums in hourly.items():
            target = merged.get((_coarser(hour, level), key, method, status))
            if target is None:
                merged[(_coarser(hour, level), key, method, status)] = list(sums)
            else:
                target[1] += sums[1]
                target[2] += sums[2]
                target[3] = min(target[3], sums[3])
                target[4] = max(target[4], sums[4])
        levels[level] = merged
    rows = [
        (owner_id, int(level), bucket, key, method, status, *sums)
        for level, sums_by_key in levels.items()
        for (bucket, key, method, status), sums in sums_by_key.items()
    ]
    rows.sort(key=lambda row: row[:6])
    names = ("owner_id", "level", "bucket_us", "endpoint_key", "method", "status_code")
    names += ("endpoint", "requests", "sum_us", "min_us", "max_us")
    return [dict(zip(names, row, strict=True)) for row in rows]


def _count_rows(owner_id: str, hourly: dict[tuple, int], last_column: str) -> list[dict[str, Any]]:
    """Rows keyed (endpoint_key, bucket, method, <last_column>) at every level, plus the
    ANY_ENDPOINT rows that sum all endpoints."""
    any_endpoint: dict[tuple, int] = {}
    for (_, hour, method, value), n in hourly.items():
        any_endpoint[(ANY_ENDPOINT, hour, method, value)] = (
            any_endpoint.get((ANY_ENDPOINT, hour, method, value), 0) + n
        )
    by_hour = {**hourly, **any_endpoint}
    levels: dict[Level, dict[tuple, int]] = {Level.HOUR: by_hour}
    for level in (Level.DAY, Level.ALL):
        merged: dict[tuple, int] = {}
        for (key, hour, method, value), n in by_hour.items():
            coarse = (key, _coarser(hour, level), method, value)
            merged[coarse] = merged.get(coarse, 0) + n
        levels[level] = merged
    rows = sorted(
        (owner_id, int(level), key, bucket, method, value, n)
        for level, counts in levels.items()
        for (key, bucket, method, value), n in counts.items()
    )
    names = ("owner_id", "level", "endpoint_key", "bucket_us", "method", last_column, "requests")
    return [dict(zip(names, row, strict=True)) for row in rows]
