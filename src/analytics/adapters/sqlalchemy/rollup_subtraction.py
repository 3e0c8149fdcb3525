"""Taking deleted raw logs back out of the rollups (DELETE /raw_logs; docs/storage.md).

The deleted rows are summed with the very code ingest uses (`rollups_of`), so every rollup
row they once added to gets exactly what they added subtracted: counts, sums of
process_time_us and latency-histogram counts come out exact. Rows left at zero requests are
deleted. Minimum and maximum do not subtract; for the traffic rows touched they are
recomputed bottom-up:

- an hour row from the raw logs of its hour, when those are all still there (the raw count
  equals the row's requests); otherwise (retention deleted some) it keeps its old values,
  which still bound the remaining logs but may come from a deleted one;
- a day row from its hour rows, an all-time row from its day rows (each level is the
  exact merge of the level below, as at ingest);
- a totals row from the traffic rows of its bucket (it is their sum over endpoints).

The owner's time span is recomputed from the first and last remaining hour likewise.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from analytics.adapters.sqlalchemy.bulk import bulk_upsert
from analytics.adapters.sqlalchemy.rollups import (
    ANY_METHOD,
    COARSE_LATENCY_COLUMNS,
    DAY_US,
    HOUR_US,
    IP_COLUMNS,
    LATENCY_COLUMNS,
    TOTALS_COLUMNS,
    TRAFFIC_COLUMNS,
    Level,
    endpoint_key,
    rollups_of,
)
from analytics.adapters.sqlalchemy.tables import (
    owner_spans,
    request_logs,
    rollup_ips,
    rollup_latency,
    rollup_latency_coarse,
    rollup_totals,
    rollup_traffic,
)

Row = tuple[Any, ...]
Group = tuple[bytes, str, int]  # endpoint_key, method, status_code
# Each level after the first is recomputed from the one before: (level, bucket width).
_COARSER_LEVELS = ((Level.DAY, DAY_US), (Level.ALL, None))


class _Subtraction:
    """Adds the negated values through ingest's own upsert (one statement per table and
    batch; every row exists, so it only ever updates), then deletes the rows left at zero by
    primary key (an executemany: a statement per key, each an index lookup)."""

    def __init__(
        self, bind: Engine | Connection, table: sa.Table, columns: Sequence[str], values: list[str]
    ) -> None:
        self._add = bulk_upsert(bind, table, columns, add_columns=values)
        self._value_positions = {columns.index(value) for value in values}
        self._key_positions = [columns.index(column.name) for column in table.primary_key]
        mark = "%s" if bind.dialect.name == "postgresql" else "?"
        where = " AND ".join(f"{column.name} = {mark}" for column in table.primary_key)
        self._delete = f"DELETE FROM {table.name} WHERE {where} AND requests = 0"

    def execute(self, connection: Connection, rows: Sequence[Row]) -> None:
        if not rows:
            return
        negated = [
            tuple(-v if i in self._value_positions else v for i, v in enumerate(row))
            for row in rows
        ]
        self._add.execute(connection, negated)
        keys = [tuple(row[i] for i in self._key_positions) for row in rows]
        connection.exec_driver_sql(self._delete, keys)


class RollupSubtraction:
    def __init__(self, bind: Engine | Connection) -> None:
        self._traffic = _Subtraction(bind, rollup_traffic, TRAFFIC_COLUMNS, ["requests", "sum_us"])
        self._totals = _Subtraction(bind, rollup_totals, TOTALS_COLUMNS, ["requests", "sum_us"])
        self._latency = _Subtraction(bind, rollup_latency, LATENCY_COLUMNS, ["requests"])
        self._latency_coarse = _Subtraction(
            bind, rollup_latency_coarse, COARSE_LATENCY_COLUMNS, ["requests"]
        )
        self._ips = _Subtraction(bind, rollup_ips, IP_COLUMNS, ["requests"])

    def subtract(self, connection: Connection, owner_id: str, deleted: Sequence[Row]) -> None:
        """Take `deleted` (raw rows starting with rollups.AGGREGATED_COLUMNS, already
        deleted in this transaction) out of the owner's rollups."""
        if not deleted:
            return
        rollups = rollups_of(owner_id, deleted)
        # The table order of ingest (RollupWriter), each sorted by key: concurrent
        # PostgreSQL writers lock shared rows in one order and cannot deadlock.
        self._traffic.execute(connection, rollups.traffic)
        _recompute_min_max(connection, owner_id, rollups.traffic)
        self._totals.execute(connection, rollups.totals)
        _recompute_totals_min_max(connection, owner_id, rollups.totals)
        self._latency.execute(connection, rollups.latency)
        self._latency_coarse.execute(connection, rollups.latency_coarse)
        self._ips.execute(connection, rollups.ips)
        _recompute_span(connection, owner_id)


def _touched(traffic: Sequence[Row], level: Level) -> dict[int, set[Group]]:
    """The groups of the traffic rows at `level`, by bucket."""
    level_at, bucket_at = TRAFFIC_COLUMNS.index("level"), TRAFFIC_COLUMNS.index("bucket_us")
    key_at = TRAFFIC_COLUMNS.index("endpoint_key")
    method_at, status_at = TRAFFIC_COLUMNS.index("method"), TRAFFIC_COLUMNS.index("status_code")
    groups: dict[int, set[Group]] = {}
    for row in traffic:
        if row[level_at] == level:
            groups.setdefault(row[bucket_at], set()).add(
                (row[key_at], row[method_at], row[status_at])
            )
    return groups


def _recompute_min_max(connection: Connection, owner_id: str, traffic: Sequence[Row]) -> None:
    _set_min_max(connection, owner_id, Level.HOUR, _hour_min_max(connection, owner_id, traffic))
    finer = Level.HOUR
    for level, width in _COARSER_LEVELS:
        updates = []
        for bucket, groups in _touched(traffic, level).items():
            merged = _merged_min_max(connection, owner_id, finer, bucket, width)
            updates += [(*merged[g], bucket, *g) for g in groups if g in merged]
        _set_min_max(connection, owner_id, level, updates)
        finer = level


def _hour_min_max(connection: Connection, owner_id: str, traffic: Sequence[Row]) -> list[Row]:
    """(min, max, hour, *group) of the touched hour groups whose raw logs are all there:
    one grouped query over the raw rows of the touched hours' span and endpoints."""
    touched = _touched(traffic, Level.HOUR)
    if not touched:
        return []
    first, end = min(touched), max(touched) + HOUR_US
    endpoint_at = TRAFFIC_COLUMNS.index("endpoint")
    endpoints = {row[endpoint_at] for row in traffic}
    logs = request_logs.c
    width = sa.literal_column(str(HOUR_US))  # inline: GROUP BY must see the same text
    # The hour's start, a floor also before 1970 (SQL's % truncates towards zero).
    hour = logs.created_us - ((logs.created_us % width) + width) % width
    raw = connection.execute(
        sa.select(
            hour,
            logs.endpoint,
            logs.method,
            logs.status_code,
            sa.func.count(),
            sa.func.min(logs.process_time_us),
            sa.func.max(logs.process_time_us),
        )
        .where(
            logs.owner_id == owner_id,
            logs.created_us >= first,
            logs.created_us < end,
            logs.endpoint.in_(endpoints),
        )
        .group_by(hour, logs.endpoint, logs.method, logs.status_code)
    ).all()
    rollup = rollup_traffic.c
    counted = {
        (bucket, key, method, status): requests
        for bucket, key, method, status, requests in connection.execute(
            sa.select(
                rollup.bucket_us,
                rollup.endpoint_key,
                rollup.method,
                rollup.status_code,
                rollup.requests,
            ).where(
                rollup.owner_id == owner_id,
                rollup.level == int(Level.HOUR),
                rollup.bucket_us >= first,
                rollup.bucket_us < end,
            )
        )
    }
    updates = []
    for bucket, endpoint, method, status, count, smallest, largest in raw:
        group = (endpoint_key(endpoint), method, status)
        if group in touched.get(bucket, ()) and counted.get((bucket, *group)) == count:
            updates.append((smallest, largest, bucket, *group))
    return updates


def _merged_min_max(
    connection: Connection, owner_id: str, finer: Level, bucket: int, width: int | None
) -> dict[Group, tuple[int, int]]:
    traffic = rollup_traffic.c
    statement = sa.select(
        traffic.endpoint_key,
        traffic.method,
        traffic.status_code,
        sa.func.min(traffic.min_us),
        sa.func.max(traffic.max_us),
    ).where(traffic.owner_id == owner_id, traffic.level == int(finer))
    if width is not None:
        statement = statement.where(traffic.bucket_us >= bucket, traffic.bucket_us < bucket + width)
    statement = statement.group_by(traffic.endpoint_key, traffic.method, traffic.status_code)
    return {
        (key, method, status): (lo, hi)
        for key, method, status, lo, hi in connection.execute(statement)
    }


def _set_min_max(connection: Connection, owner_id: str, level: Level, updates: list[Row]) -> None:
    if not updates:
        return
    traffic = rollup_traffic.c
    statement = (
        sa.update(rollup_traffic)
        .where(
            traffic.owner_id == owner_id,
            traffic.level == int(level),
            traffic.bucket_us == sa.bindparam("b_bucket"),
            traffic.endpoint_key == sa.bindparam("b_key"),
            traffic.method == sa.bindparam("b_method"),
            traffic.status_code == sa.bindparam("b_status"),
        )
        .values(min_us=sa.bindparam("b_min"), max_us=sa.bindparam("b_max"))
    )
    names = ("b_min", "b_max", "b_bucket", "b_key", "b_method", "b_status")
    connection.execute(statement, [dict(zip(names, row, strict=True)) for row in updates])


def _recompute_totals_min_max(connection: Connection, owner_id: str, totals: Sequence[Row]) -> None:
    """Totals rows from the (already recomputed) traffic rows of their level and bucket:
    one grouped query per level over the touched buckets' span."""
    level_at, bucket_at = TOTALS_COLUMNS.index("level"), TOTALS_COLUMNS.index("bucket_us")
    method_at, status_at = TOTALS_COLUMNS.index("method"), TOTALS_COLUMNS.index("status_code")
    touched: dict[int, set[tuple[int, str, int]]] = {}
    for row in totals:
        touched.setdefault(row[level_at], set()).add(
            (row[bucket_at], row[method_at], row[status_at])
        )
    traffic = rollup_traffic.c
    updates = []
    for level, groups in touched.items():
        buckets = [bucket for bucket, _, _ in groups]
        merged: dict[tuple[int, str, int], tuple[int, int]] = {}
        for bucket, method, status, lo, hi in connection.execute(
            sa.select(
                traffic.bucket_us,
                traffic.method,
                traffic.status_code,
                sa.func.min(traffic.min_us),
                sa.func.max(traffic.max_us),
            )
            .where(
                traffic.owner_id == owner_id,
                traffic.level == level,
                traffic.bucket_us >= min(buckets),
                traffic.bucket_us <= max(buckets),
            )
            .group_by(traffic.bucket_us, traffic.method, traffic.status_code)
        ):
            merged[(bucket, method, status)] = (lo, hi)
            any_lo, any_hi = merged.get((bucket, ANY_METHOD, status), (lo, hi))
            merged[(bucket, ANY_METHOD, status)] = (min(any_lo, lo), max(any_hi, hi))
        updates += [
            {
                "b_min": merged[g][0],
                "b_max": merged[g][1],
                "b_level": level,
                "b_bucket": g[0],
                "b_method": g[1],
                "b_status": g[2],
            }
            for g in groups
            if g in merged
        ]
    if not updates:
        return
    totals_c = rollup_totals.c
    connection.execute(
        sa.update(rollup_totals)
        .where(
            totals_c.owner_id == owner_id,
            totals_c.level == sa.bindparam("b_level"),
            totals_c.bucket_us == sa.bindparam("b_bucket"),
            totals_c.method == sa.bindparam("b_method"),
            totals_c.status_code == sa.bindparam("b_status"),
        )
        .values(min_us=sa.bindparam("b_min"), max_us=sa.bindparam("b_max")),
        updates,
    )


def _recompute_span(connection: Connection, owner_id: str) -> None:
    """The owner's first and last remaining log; exact where the raw logs of the first
    (last) hour are all there, else the old bound moved into that hour."""
    traffic = rollup_traffic.c
    hours = connection.execute(
        sa.select(sa.func.min(traffic.bucket_us), sa.func.max(traffic.bucket_us)).where(
            traffic.owner_id == owner_id, traffic.level == int(Level.HOUR)
        )
    ).one()
    if hours[0] is None:
        connection.execute(sa.delete(owner_spans).where(owner_spans.c.owner_id == owner_id))
        return
    old = connection.execute(
        sa.select(owner_spans.c.first_us, owner_spans.c.last_us).where(
            owner_spans.c.owner_id == owner_id
        )
    ).first()
    if old is None:  # nothing recorded: nothing to narrow
        return
    first = _edge_of_hour(connection, owner_id, hours[0], sa.func.min)
    last = _edge_of_hour(connection, owner_id, hours[1], sa.func.max)
    connection.execute(
        sa.update(owner_spans)
        .where(owner_spans.c.owner_id == owner_id)
        .values(
            first_us=first if first is not None else max(old.first_us, hours[0]),
            last_us=last if last is not None else min(old.last_us, hours[1] + HOUR_US - 1),
        )
    )


def _edge_of_hour(connection: Connection, owner_id: str, hour: int, edge: Any) -> int | None:
    """min/max created_us of the owner's raw logs in `hour`, if none of that hour's are gone."""
    logs, traffic = request_logs.c, rollup_traffic.c
    count, moment = connection.execute(
        sa.select(sa.func.count(), edge(logs.created_us)).where(
            logs.owner_id == owner_id, logs.created_us >= hour, logs.created_us < hour + HOUR_US
        )
    ).one()
    counted = connection.execute(
        sa.select(sa.func.sum(traffic.requests)).where(
            traffic.owner_id == owner_id,
            traffic.level == int(Level.HOUR),
            traffic.bucket_us == hour,
        )
    ).scalar_one()
    return moment if count and int(counted or 0) == count else None
