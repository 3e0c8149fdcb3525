"""Request logs in SQL: ingest, listing, and the dashboard's aggregates."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from analytics.adapters.sqlalchemy.dashboard import DashboardReader
from analytics.adapters.sqlalchemy.engine import read_transaction, write_transaction
from analytics.adapters.sqlalchemy.listing import list_logs
from analytics.adapters.sqlalchemy.mapping import from_epoch_us, log_row, to_epoch_us
from analytics.adapters.sqlalchemy.sources import RawSource, Scope
from analytics.adapters.sqlalchemy.tables import request_logs
from analytics.domain.dashboard import DashboardData, DashboardQuery
from analytics.domain.log_filter import LogFilter, LogPage
from analytics.domain.logs import RequestLog, StoredLog


class SqlAlchemyLogRepository:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def add_many(self, owner_id: str, logs: Sequence[RequestLog]) -> int:
        if not logs:
            return 0
        rows = [log_row(owner_id, log) for log in logs]
        with write_transaction(self._engine) as connection:
            connection.execute(sa.insert(request_logs), rows)
        return len(rows)

    def list(self, owner_id: str, log_filter: LogFilter, page: LogPage) -> list[StoredLog]:
        with read_transaction(self._engine) as connection:
            return list_logs(connection, owner_id, log_filter, page)

    def time_span(self, owner_id: str) -> tuple[datetime, datetime] | None:
        statement = sa.select(
            sa.func.min(request_logs.c.created_us), sa.func.max(request_logs.c.created_us)
        ).where(request_logs.c.owner_id == owner_id)
        with read_transaction(self._engine) as connection:
            first, last = connection.execute(statement).one()
        if first is None:
            return None
        return from_epoch_us(first), from_epoch_us(last)

    def dashboard_data(self, owner_id: str, query: DashboardQuery) -> DashboardData:
        if query.granularity is None:
            raise ValueError("the query's granularity must be resolved first")
        time_range = query.time_range
        source = RawSource(
            Scope(owner_id, query.endpoint, query.method),
            start_us=None if time_range.start is None else to_epoch_us(time_range.start),
            end_us=None if time_range.end is None else to_epoch_us(time_range.end),
        )
        with read_transaction(self._engine) as connection:
            return DashboardReader(connection).read(source, source, query.granularity, query.top)

    def is_available(self) -> bool:
        try:
            with read_transaction(self._engine) as connection:
                connection.execute(sa.select(1))
        except Exception:  # a health check reports; it never raises
            return False
        return True
