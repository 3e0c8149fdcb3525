"""`INSERT ... ON CONFLICT DO UPDATE` for SQLite and PostgreSQL from one description."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine


def upsert(
    bind: Engine | Connection,
    table: sa.Table,
    key_columns: Sequence[str],
    replace_columns: Sequence[str] = (),
    add_columns: Sequence[str] = (),
    min_columns: Sequence[str] = (),
    max_columns: Sequence[str] = (),
) -> Any:
    """An insert of `table` rows that merges each into the row with the same key.

    `replace_columns` take the new value, `add_columns` the sum of old and new,
    `min_columns`/`max_columns` the smaller/larger of the two.
    """
    dialect = postgresql if bind.dialect.name == "postgresql" else sqlite
    statement = dialect.insert(table)
    new = statement.excluded
    # Two-argument min()/max() are SQLite's scalar functions; PostgreSQL calls them LEAST/GREATEST.
    smaller = sa.func.least if dialect is postgresql else sa.func.min
    larger = sa.func.greatest if dialect is postgresql else sa.func.max
    merged: Mapping[str, Any] = {
        **{name: new[name] for name in replace_columns},
        **{name: table.c[name] + new[name] for name in add_columns},
        **{name: smaller(table.c[name], new[name]) for name in min_columns},
        **{name: larger(table.c[name], new[name]) for name in max_columns},
    }
    return statement.on_conflict_do_update(index_elements=list(key_columns), set_=merged)
