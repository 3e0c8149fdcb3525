"""The upserts that add a batch's rollups to the rollup tables."""

from __future__ import annotations

from sqlalchemy.engine import Connection, Engine

from analytics.adapters.sqlalchemy.bulk import bulk_upsert
from analytics.adapters.sqlalchemy.rollups import (
    COARSE_LATENCY_COLUMNS,
    IP_COLUMNS,
    LATENCY_COLUMNS,
    SPAN_COLUMNS,
    TOTALS_COLUMNS,
    TRAFFIC_COLUMNS,
    BatchRollups,
)
from analytics.adapters.sqlalchemy.tables import (
    owner_spans,
    rollup_ips,
    rollup_latency,
    rollup_latency_coarse,
    rollup_totals,
    rollup_traffic,
)


class RollupWriter:
    """One `INSERT ... ON CONFLICT DO UPDATE` executemany per rollup table and batch."""

    def __init__(self, bind: Engine | Connection) -> None:
        self._traffic = bulk_upsert(
            bind,
            rollup_traffic,
            TRAFFIC_COLUMNS,
            add_columns=["requests", "sum_us"],
            min_columns=["min_us"],
            max_columns=["max_us"],
        )
        self._totals = bulk_upsert(
            bind,
            rollup_totals,
            TOTALS_COLUMNS,
            add_columns=["requests", "sum_us"],
            min_columns=["min_us"],
            max_columns=["max_us"],
        )
        self._latency = bulk_upsert(bind, rollup_latency, LATENCY_COLUMNS, add_columns=["requests"])
        self._latency_coarse = bulk_upsert(
            bind, rollup_latency_coarse, COARSE_LATENCY_COLUMNS, add_columns=["requests"]
        )
        self._ips = bulk_upsert(bind, rollup_ips, IP_COLUMNS, add_columns=["requests"])
        self._span = bulk_upsert(
            bind, owner_spans, SPAN_COLUMNS, min_columns=["first_us"], max_columns=["last_us"]
        )

    def write(self, connection: Connection, rollups: BatchRollups) -> None:
        # Always in this table order, each sorted by key: concurrent PostgreSQL writers then
        # take row locks in one global order and cannot deadlock.
        self._traffic.execute(connection, rollups.traffic)
        self._totals.execute(connection, rollups.totals)
        self._latency.execute(connection, rollups.latency)
        self._latency_coarse.execute(connection, rollups.latency_coarse)
        self._ips.execute(connection, rollups.ips)
        self._span.execute(connection, [rollups.span])
