"""Statements for the ingest hot path: plain SQL text executed with tuples.

SQLAlchemy's per-row parameter processing cost more than SQLite's own work for these
batches, so the insert and the rollup upserts go to the driver's `executemany` directly.
The text is the same on both databases apart from the placeholder and the two-argument
min/max, which PostgreSQL spells LEAST/GREATEST.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine


@dataclass(frozen=True, slots=True)
class BulkStatement:
    sql: str

    def execute(self, connection: Connection, rows: Sequence[tuple[Any, ...]]) -> None:
        if rows:
            connection.exec_driver_sql(self.sql, list(rows))


def bulk_insert(
    bind: Engine | Connection, table: sa.Table, columns: Sequence[str]
) -> BulkStatement:
    return BulkStatement(_insert_sql(bind, table, columns))


def bulk_upsert(
    bind: Engine | Connection,
    table: sa.Table,
    columns: Sequence[str],
    add_columns: Sequence[str] = (),
    min_columns: Sequence[str] = (),
    max_columns: Sequence[str] = (),
) -> BulkStatement:
    """Insert rows of `columns`; a row whose primary key exists is merged into it instead:
    `add_columns` summed, `min_columns`/`max_columns` the smaller/larger value."""
    postgres = bind.dialect.name == "postgresql"
    smaller, larger = ("least", "greatest") if postgres else ("min", "max")
    name = table.name
    merges = [f"{c} = {name}.{c} + excluded.{c}" for c in add_columns]
    merges += [f"{c} = {smaller}({name}.{c}, excluded.{c})" for c in min_columns]
    merges += [f"{c} = {larger}({name}.{c}, excluded.{c})" for c in max_columns]
    key = ", ".join(column.name for column in table.primary_key)
    return BulkStatement(
        f"{_insert_sql(bind, table, columns)} ON CONFLICT ({key}) DO UPDATE SET {', '.join(merges)}"
    )


def _insert_sql(bind: Engine | Connection, table: sa.Table, columns: Sequence[str]) -> str:
    unknown = set(columns) - set(table.c.keys())
    if unknown:
        raise ValueError(f"{table.name} has no columns {sorted(unknown)}")
    placeholder = "%s" if bind.dialect.name == "postgresql" else "?"
    values = ", ".join([placeholder] * len(columns))
    return f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({values})"
