"""DELETE /raw_logs in SQL: the matching raw rows, and their part of the rollups."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from analytics.adapters.sqlalchemy.engine import write_transaction
from analytics.adapters.sqlalchemy.listing import log_filter_criteria
from analytics.adapters.sqlalchemy.rollup_subtraction import RollupSubtraction
from analytics.adapters.sqlalchemy.rollups import AGGREGATED_COLUMNS
from analytics.adapters.sqlalchemy.tables import request_logs
from analytics.domain.log_filter import LogFilter

DEFAULT_DELETE_BATCH = 5_000


class SqlAlchemyLogEraser:
    """Deletes in transactions of at most `batch_size` rows, oldest first. Each one takes
    exactly the rows it deleted (`DELETE ... RETURNING`) out of the rollups, so every
    committed state agrees with its raw rows, also under concurrent ingest or deletes."""

    def __init__(self, engine: Engine, batch_size: int = DEFAULT_DELETE_BATCH) -> None:
        self._engine = engine
        self._batch_size = batch_size
        self._rollups = RollupSubtraction(engine)

    def delete_matching(self, owner_id: str, log_filter: LogFilter) -> int:
        logs = request_logs.c
        matching = (
            sa.select(logs.id)
            .where(logs.owner_id == owner_id, *log_filter_criteria(log_filter))
            .order_by(logs.created_us, logs.id)
            .limit(self._batch_size)
        )
        delete = (
            sa.delete(request_logs)
            .where(logs.id.in_(matching.scalar_subquery()))
            .returning(*(logs[name] for name in AGGREGATED_COLUMNS))
        )
        deleted = 0
        while True:
            with write_transaction(self._engine) as connection:
                rows = [tuple(row) for row in connection.execute(delete)]
                self._rollups.subtract(connection, owner_id, rows)
            deleted += len(rows)
            # A short batch on PostgreSQL may mean a concurrent delete took some rows:
            # only an empty one means nothing matches any more.
            if not rows:
                return deleted
