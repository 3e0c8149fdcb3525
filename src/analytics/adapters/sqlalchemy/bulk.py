"""Statements for the ingest hot path: plain SQL text executed with tuples.

SQLAlchemy's per-row parameter processing cost more than the database's own work for these
batches, so the insert and the rollup upserts go to the driver directly, one statement per
table and batch:

- PostgreSQL: `INSERT ... SELECT ... FROM unnest(%s::type[], ...)`, one array parameter per
  column, so a batch is one statement, one round trip and one plan instead of a row each.
  `WITH ORDINALITY ... ORDER BY` keeps the rows in the order given: rollup rows come sorted by
  primary key, so concurrent writers lock shared rows in one order and cannot deadlock.
- SQLite: `executemany` of one prepared `INSERT ... VALUES (?, ...)`, stepped once per row
  in C. Measured against one multi-row `VALUES` statement it costs the same (the B-tree work
  dominates), and it needs no chunking under SQLite's bound-variable limit.

The upsert's `ON CONFLICT` clause is the same text on both, apart from the two-argument
min/max, which PostgreSQL spells LEAST/GREATEST.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Connection, Engine


@dataclass(frozen=True, slots=True)
class BulkStatement:
    sql: str
    by_columns: bool  # parameters: one array per column (PostgreSQL), else one tuple per row

    def execute(self, connection: Connection, rows: Sequence[tuple[Any, ...]]) -> None:
        if not rows:
            return
        if self.by_columns:
            connection.exec_driver_sql(self.sql, tuple(map(list, zip(*rows, strict=True))))
        else:
            connection.exec_driver_sql(self.sql, list(rows))


def bulk_insert(
    bind: Engine | Connection, table: sa.Table, columns: Sequence[str]
) -> BulkStatement:
    return BulkStatement(_insert_sql(bind, table, columns), _is_postgres(bind))


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
    postgres = _is_postgres(bind)
    smaller, larger = ("least", "greatest") if postgres else ("min", "max")
    name = table.name
    merges = [f"{c} = {name}.{c} + excluded.{c}" for c in add_columns]
    merges += [f"{c} = {smaller}({name}.{c}, excluded.{c})" for c in min_columns]
    merges += [f"{c} = {larger}({name}.{c}, excluded.{c})" for c in max_columns]
    key = ", ".join(column.name for column in table.primary_key)
    conflict = f"ON CONFLICT ({key}) DO UPDATE SET {', '.join(merges)}"
    return BulkStatement(f"{_insert_sql(bind, table, columns)} {conflict}", postgres)


def _is_postgres(bind: Engine | Connection) -> bool:
    return bind.dialect.name == "postgresql"


def _insert_sql(bind: Engine | Connection, table: sa.Table, columns: Sequence[str]) -> str:
    unknown = set(columns) - set(table.c.keys())
    if unknown:
        raise ValueError(f"{table.name} has no columns {sorted(unknown)}")
    names = ", ".join(columns)
    if not _is_postgres(bind):
        return f"INSERT INTO {table.name} ({names}) VALUES ({', '.join(['?'] * len(columns))})"
    dialect = postgresql.dialect()
    arrays = ", ".join(f"%s::{table.c[c].type.compile(dialect=dialect)}[]" for c in columns)
    return (
        f"INSERT INTO {table.name} ({names}) SELECT {names} FROM unnest({arrays})"
        f" WITH ORDINALITY AS batch ({names}, position) ORDER BY position"
    )
