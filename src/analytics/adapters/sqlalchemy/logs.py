"""Request logs in SQL: ingest with rollups, listing, dashboards, retention."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from analytics.adapters.sqlalchemy.batch_groups import BatchGroups, PendingBatch
from analytics.adapters.sqlalchemy.batch_ids import claim_batch_id
from analytics.adapters.sqlalchemy.bulk import bulk_insert
from analytics.adapters.sqlalchemy.dashboard import DashboardReader
from analytics.adapters.sqlalchemy.engine import is_sqlite, read_transaction, write_transaction
from analytics.adapters.sqlalchemy.listing import list_logs
from analytics.adapters.sqlalchemy.mapping import (
    LOG_COLUMNS,
    from_epoch_us,
    log_values,
    to_epoch_us,
)
from analytics.adapters.sqlalchemy.plan import effective_bounds, series_source, totals_source
from analytics.adapters.sqlalchemy.rollup_writer import RollupWriter
from analytics.adapters.sqlalchemy.rollups import BatchRollups, rollups_of
from analytics.adapters.sqlalchemy.sources import Scope
from analytics.adapters.sqlalchemy.tables import owner_spans, request_logs
from analytics.adapters.sqlalchemy.write_health import write_health
from analytics.domain.batches import BatchReceipt
from analytics.domain.dashboard import DashboardData, DashboardQuery
from analytics.domain.log_filter import LogFilter, LogPage
from analytics.domain.logs import RequestLog, StoredLog
from analytics.domain.stats import RequestStats


class SqlAlchemyLogRepository:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._insert_logs = bulk_insert(engine, request_logs, LOG_COLUMNS)
        self._rollups = RollupWriter(engine)
        # SQLite writes one transaction at a time: batches waiting for it are written together
        # (batch_groups.py). PostgreSQL writes concurrent batches concurrently, each alone.
        self._groups = BatchGroups(self._store_together) if is_sqlite(engine) else None

    def add_many(
        self, owner_id: str, logs: Sequence[RequestLog], receipt: BatchReceipt | None = None
    ) -> int:
        """Store the raw rows and add them to the rollups, in one transaction (which also
        records the batch id: a batch already stored is not stored again; on SQLite the
        batches waiting for the writer at the same time share it). Returns once committed."""
        if not logs:
            return 0
        batch = PendingBatch(owner_id, [log_values(owner_id, log) for log in logs], receipt)
        if self._groups is None:
            return self._store_together([batch])[0]
        return self._groups.store(batch)

    def _store_together(self, batches: Sequence[PendingBatch]) -> list[int]:
        """Store `batches` in one transaction; each one's count of logs stored (for a batch
        whose id was stored before: the count stored then, and nothing now)."""
        # Summed before the transaction, which then holds the write lock only to write.
        rollups = _rollups_by_owner(batches)
        counts: list[int] = []
        with write_transaction(self._engine) as connection:
            accepted: list[PendingBatch] = []
            for batch in batches:
                earlier = None
                if batch.receipt is not None:
                    earlier = claim_batch_id(
                        connection, batch.owner_id, batch.receipt, len(batch.rows)
                    )
                if earlier is None:
                    accepted.append(batch)
                counts.append(len(batch.rows) if earlier is None else earlier)
            if not accepted:
                return counts
            if len(accepted) < len(batches):  # a batch stored before: sum the others only
                rollups = _rollups_by_owner(accepted)
            self._insert_logs.execute(connection, [row for batch in accepted for row in batch.rows])
            for owner_rollups in rollups:
                self._rollups.write(connection, owner_rollups)
        return counts

    def list(self, owner_id: str, log_filter: LogFilter, page: LogPage) -> list[StoredLog]:
        with read_transaction(self._engine) as connection:
            return list_logs(connection, owner_id, log_filter, page)

    def time_span(self, owner_id: str) -> tuple[datetime, datetime] | None:
        """The oldest and newest log the owner sent, including ones retention deleted since."""
        with read_transaction(self._engine) as connection:
            span = _span(connection, owner_id)
        return None if span is None else (from_epoch_us(span[0]), from_epoch_us(span[1]))

    def dashboard_data(self, owner_id: str, query: DashboardQuery) -> DashboardData:
        if query.granularity is None:
            raise ValueError("the query's granularity must be resolved first")
        scope = Scope(owner_id, query.endpoint, query.method)
        time_range = query.time_range
        with read_transaction(self._engine) as connection:
            span = _span(connection, owner_id)
            if span is None:
                return _no_data()
            start, end = effective_bounds(
                None if time_range.start is None else to_epoch_us(time_range.start),
                None if time_range.end is None else to_epoch_us(time_range.end),
                *span,
            )
            return DashboardReader(connection).read(
                totals_source(scope, start, end),
                series_source(scope, start, end, query.granularity),
                query.granularity,
                query.top,
            )

    def is_available(self) -> bool:
        if write_health(self._engine).failing():
            return False  # e.g. a full disk: reads still work, writes do not
        try:
            with read_transaction(self._engine) as connection:
                connection.execute(sa.select(1))
        except Exception:  # a health check reports; it never raises
            return False
        return True


def _rollups_by_owner(batches: Sequence[PendingBatch]) -> list[BatchRollups]:
    """The rollups of the batches' rows, one set per owner, in owner order."""
    rows_by_owner: dict[str, list[tuple]] = {}
    for batch in batches:
        rows_by_owner.setdefault(batch.owner_id, []).extend(batch.rows)
    return [rollups_of(owner_id, rows) for owner_id, rows in sorted(rows_by_owner.items())]


def _span(connection: Connection, owner_id: str) -> tuple[int, int] | None:
    row = connection.execute(
        sa.select(owner_spans.c.first_us, owner_spans.c.last_us).where(
            owner_spans.c.owner_id == owner_id
        )
    ).first()
    return None if row is None else (row.first_us, row.last_us)


def _no_data() -> DashboardData:
    return DashboardData(
        overall=RequestStats(),
        unique_ips=0,
        method_usage={},
        status_codes={},
        endpoints=(),
        top_ips=(),
        time_series=(),
    )
