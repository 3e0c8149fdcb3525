"""The raw-log listing: one owner's logs matching a `LogFilter`, newest first, a page at a time."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from analytics.adapters.sqlalchemy.mapping import stored_log, to_epoch_us
from analytics.adapters.sqlalchemy.tables import request_logs as logs
from analytics.domain.log_filter import LogFilter, LogPage
from analytics.domain.logs import StoredLog


def list_logs(
    connection: Connection, owner_id: str, log_filter: LogFilter, page: LogPage
) -> list[StoredLog]:
    criteria = log_filter_criteria(log_filter)
    statement = sa.select(logs).where(logs.c.owner_id == owner_id, *criteria)
    if page.before_id is not None:
        anchor = connection.execute(
            sa.select(logs.c.created_us, logs.c.id).where(
                logs.c.id == page.before_id, logs.c.owner_id == owner_id
            )
        ).first()
        if anchor is None:  # unknown, or another owner's: nothing comes after it for this owner
            return []
        # Keyset paging: a row-value comparison walks the (owner_id, created_us, id) index.
        statement = statement.where(
            sa.tuple_(logs.c.created_us, logs.c.id) < sa.tuple_(anchor.created_us, anchor.id)
        )
    statement = (
        statement.order_by(logs.c.created_us.desc(), logs.c.id.desc())
        .offset(page.offset)
        .limit(page.limit)
    )
    return [stored_log(row) for row in connection.execute(statement).mappings()]


def log_filter_criteria(log_filter: LogFilter) -> list[sa.ColumnElement[bool]]:
    criteria: list[sa.ColumnElement[bool]] = []
    time_range = log_filter.time_range
    if time_range.start is not None:
        criteria.append(logs.c.created_us >= to_epoch_us(time_range.start))
    if time_range.end is not None:
        criteria.append(logs.c.created_us < to_epoch_us(time_range.end))
    if log_filter.method is not None:
        criteria.append(logs.c.method == log_filter.method)
    if log_filter.status_code is not None:
        criteria.append(logs.c.status_code == log_filter.status_code)
    if log_filter.endpoint is not None:
        criteria.append(logs.c.endpoint == log_filter.endpoint)
    if log_filter.ip is not None:
        criteria.append(logs.c.ip == log_filter.ip)
    if log_filter.min_process_time_us is not None:
        criteria.append(logs.c.process_time_us >= log_filter.min_process_time_us)
    if log_filter.max_process_time_us is not None:
        criteria.append(logs.c.process_time_us <= log_filter.max_process_time_us)
    return criteria
