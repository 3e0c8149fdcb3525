"""Statements for the ingest hot path: plain SQL text executed with tuples.

SQLAlchemy's per-row parameter processing cost more than the database's own work for these
batches, so the insert and the rollup upserts go to the driver directly, with few
statements per table and batch:

- PostgreSQL: `INSERT ... SELECT ... FROM unnest(%s::type[], ...)`, one array parameter per
  column, so a batch is one statement, one round trip and one plan instead of a row each.
  `WITH ORDINALITY ... ORDER BY` keeps the rows in the order given: rollup rows come sorted by
  primary key, so concurrent writers lock shared rows in one order and cannot deadlock.
- SQLite: multi-row `INSERT ... VALUES (?, ...), (?, ...), ...` statements of 2^k rows, at
  most MAX_ROWS_PER_STATEMENT: about 25 statements for a batch's ~10 000 rollup rows. Not
  `executemany`: that steps the statement once per row and takes the GIL back between rows,
  and while other requests' threads parse JSON each hand-over waits for them, which made the
  same upserts 2-5 times slower. Sizes are powers of two because the `sqlite3` module keeps
  up to 128 compiled statements per connection, and a compiled statement costs about 2 kB
  per row: a statement per batch size would pile up hundreds of MB.

The upsert's `ON CONFLICT` clause is the same text on both, apart from the two-argument
min/max, which PostgreSQL spells LEAST/GREATEST.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import chain
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Connection, Engine

# 1024 rows of at most 11 columns: 11264 bound variables, inside SQLite's default limit of
# 32766, and ~2 MB compiled: the cached sizes 1, 2, ... 1024 take ~4 MB per table, kept by
# the one connection that writes (engine.SqliteWriter).
MAX_ROWS_PER_STATEMENT = 1024


@dataclass(frozen=True, slots=True)
class BulkStatement:
    sql: str  # PostgreSQL: the whole statement; SQLite: up to and including `VALUES`
    by_columns: bool  # PostgreSQL: one array parameter per column
    row_placeholder: str = ""  # SQLite: `(?, ?, ...)`, repeated once per row
    suffix: str = ""  # SQLite: what follows the rows (`ON CONFLICT ...`)

    def execute(self, connection: Connection, rows: Sequence[tuple[Any, ...]]) -> None:
        if not rows:
            return
        if self.by_columns:
            connection.exec_driver_sql(self.sql, tuple(map(list, zip(*rows, strict=True))))
            return
        start = 0
        while start < len(rows):
            count = _chunk_size(len(rows) - start)
            chunk = rows[start : start + count]
            connection.exec_driver_sql(self._rows_sql(count), tuple(chain.from_iterable(chunk)))
            start += count

    def _rows_sql(self, count: int) -> str:
        return f"{self.sql} {', '.join([self.row_placeholder] * count)} {self.suffix}"


def _chunk_size(remaining: int) -> int:
    """The largest power of two up to `remaining` and MAX_ROWS_PER_STATEMENT."""
    return min(MAX_ROWS_PER_STATEMENT, 1 << (remaining.bit_length() - 1))


def bulk_insert(
    bind: Engine | Connection, table: sa.Table, columns: Sequence[str]
) -> BulkStatement:
    return _statement(bind, table, columns, "")


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
    smaller, larger = ("least", "greatest") if _is_postgres(bind) else ("min", "max")
    name = table.name
    merges = [f"{c} = {name}.{c} + excluded.{c}" for c in add_columns]
    merges += [f"{c} = {smaller}({name}.{c}, excluded.{c})" for c in min_columns]
    merges += [f"{c} = {larger}({name}.{c}, excluded.{c})" for c in max_columns]
    key = ", ".join(column.name for column in table.primary_key)
    return _statement(
        bind, table, columns, f"ON CONFLICT ({key}) DO UPDATE SET {', '.join(merges)}"
    )


def _is_postgres(bind: Engine | Connection) -> bool:
    return bind.dialect.name == "postgresql"


def _statement(
    bind: Engine | Connection, table: sa.Table, columns: Sequence[str], suffix: str
) -> BulkStatement:
    unknown = set(columns) - set(table.c.keys())
    if unknown:
        raise ValueError(f"{table.name} has no columns {sorted(unknown)}")
    names = ", ".join(columns)
    insert = f"INSERT INTO {table.name} ({names})"
    if not _is_postgres(bind):
        placeholders = f"({', '.join(['?'] * len(columns))})"
        return BulkStatement(f"{insert} VALUES", False, placeholders, suffix)
    dialect = postgresql.dialect()
    arrays = ", ".join(f"%s::{table.c[c].type.compile(dialect=dialect)}[]" for c in columns)
    select = (
        f"SELECT {names} FROM unnest({arrays})"
        f" WITH ORDINALITY AS batch ({names}, position) ORDER BY position"
    )
    return BulkStatement(f"{insert} {select} {suffix}".rstrip(), True)
