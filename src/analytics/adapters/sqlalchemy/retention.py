"""Expiry in SQL: old raw logs (retention; rollups stay) and old batch ids."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from analytics.adapters.sqlalchemy.batch_ids import batch_ids
from analytics.adapters.sqlalchemy.engine import read_transaction, write_transaction
from analytics.adapters.sqlalchemy.mapping import to_epoch_us
from analytics.adapters.sqlalchemy.tables import owner_spans, request_logs


class SqlAlchemyRetention:
    """Each deletion is one short transaction of at most `limit` rows, oldest first, so
    ingest never waits long behind it."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def owners_with_logs_before(self, cutoff: datetime) -> list[str]:
        cutoff_us = to_epoch_us(cutoff)
        # owner_spans keeps an owner's first log time after retention, so it only narrows
        # the candidates; one index seek per candidate tells whether old raw rows remain.
        old_rows = sa.exists().where(
            request_logs.c.owner_id == owner_spans.c.owner_id,
            request_logs.c.created_us < cutoff_us,
        )
        with read_transaction(self._engine) as connection:
            return list(
                connection.execute(
                    sa.select(owner_spans.c.owner_id)
                    .where(owner_spans.c.first_us < cutoff_us, old_rows)
                    .order_by(owner_spans.c.owner_id)
                ).scalars()
            )

    def delete_owner_logs_before(self, owner_id: str, cutoff: datetime, limit: int) -> int:
        oldest = (
            sa.select(request_logs.c.id)
            .where(
                request_logs.c.owner_id == owner_id,
                request_logs.c.created_us < to_epoch_us(cutoff),
            )
            .order_by(request_logs.c.created_us)  # walks (owner_id, created_us, id)
            .limit(limit)
        )
        with write_transaction(self._engine) as connection:
            result = connection.execute(
                sa.delete(request_logs).where(request_logs.c.id.in_(oldest.scalar_subquery()))
            )
        return result.rowcount

    def forget_batch_ids_before(self, cutoff: datetime, limit: int) -> int:
        oldest = (
            sa.select(batch_ids.c.owner_id, batch_ids.c.batch_id)
            .where(batch_ids.c.received_us < to_epoch_us(cutoff))
            .order_by(batch_ids.c.received_us)
            .limit(limit)
        )
        key = sa.tuple_(batch_ids.c.owner_id, batch_ids.c.batch_id)
        with write_transaction(self._engine) as connection:
            result = connection.execute(sa.delete(batch_ids).where(key.in_(oldest)))
        return result.rowcount
