"""The upserts that add a batch's rollups to the rollup tables."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from analytics.adapters.sqlalchemy.rollups import BatchRollups
from analytics.adapters.sqlalchemy.tables import (
    owner_spans,
    rollup_ips,
    rollup_latency,
    rollup_traffic,
)
from analytics.adapters.sqlalchemy.upsert import upsert


class RollupWriter:
    """One `INSERT ... ON CONFLICT DO UPDATE` executemany per rollup table and batch."""

    def __init__(self, bind: Engine | Connection) -> None:
        self._traffic = upsert(
            bind,
            rollup_traffic,
            key_columns=_key(rollup_traffic),
            add_columns=["requests", "sum_us"],
            min_columns=["min_us"],
            max_columns=["max_us"],
        )
        self._latency = upsert(
            bind, rollup_latency, key_columns=_key(rollup_latency), add_columns=["requests"]
        )
        self._ips = upsert(bind, rollup_ips, key_columns=_key(rollup_ips), add_columns=["requests"])
        self._span = upsert(
            bind,
            owner_spans,
            key_columns=["owner_id"],
            min_columns=["first_us"],
            max_columns=["last_us"],
        )

    def write(self, connection: Connection, rollups: BatchRollups) -> None:
        # Always in this table order, each sorted by key: concurrent PostgreSQL writers then
        # take row locks in one global order and cannot deadlock.
        statements: list[tuple[Any, list[dict[str, Any]]]] = [
            (self._traffic, rollups.traffic),
            (self._latency, rollups.latency),
            (self._ips, rollups.ips),
            (self._span, [rollups.span]),
        ]
        for statement, rows in statements:
            if rows:
                connection.execute(statement, rows)


def _key(table: sa.Table) -> list[str]:
    return [column.name for column in table.primary_key]
