"""The query strings of /raw_logs and /dashboard, and the domain queries they stand for."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from analytics.domain.dashboard import DEFAULT_TOP, MAX_TOP, DashboardQuery
from analytics.domain.log_filter import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, LogFilter, LogPage
from analytics.domain.logs import (
    MAX_PROCESS_TIME_MS,
    MAX_STATUS_CODE,
    MIN_STATUS_CODE,
    ms_to_us,
)
from analytics.domain.time import Granularity, TimeRange
from analytics.entrypoints.http.schemas.fields import (
    MAX_DB_INTEGER,
    Endpoint,
    HttpMethod,
    QueryIp,
    UtcDatetime,
)

# Deeper pages are what `before_id` is for; the bound keeps OFFSET inside every database's range.
MAX_OFFSET = 2**31 - 1

_START = "Only logs at or after this time (ISO 8601; a time without offset is UTC)."
_END = "Only logs before this time (ISO 8601; a time without offset is UTC)."


class RawLogFormat(StrEnum):
    JSON = "json"
    CSV = "csv"


class RawLogFilterParams(BaseModel):
    """The filters of GET and DELETE /raw_logs."""

    model_config = ConfigDict(extra="forbid")

    start: UtcDatetime | None = Field(None, description=_START)
    end: UtcDatetime | None = Field(None, description=_END)
    method: HttpMethod | None = Field(None, description="Only this HTTP method.")
    status_code: int | None = Field(
        None, ge=MIN_STATUS_CODE, le=MAX_STATUS_CODE, description="Only this HTTP status code."
    )
    endpoint: Endpoint | None = Field(None, description="Only this endpoint.")
    ip: QueryIp = Field(None, description="Only this client IP address (IPv4 or IPv6).")
    min_process_time: float | None = Field(
        None,
        ge=0,
        le=MAX_PROCESS_TIME_MS,
        allow_inf_nan=False,
        description="Only logs that took at least this long, in milliseconds.",
    )
    max_process_time: float | None = Field(
        None,
        ge=0,
        le=MAX_PROCESS_TIME_MS,
        allow_inf_nan=False,
        description="Only logs that took at most this long, in milliseconds.",
    )

    def to_filter(self) -> LogFilter:
        return LogFilter(
            time_range=TimeRange(self.start, self.end),
            method=self.method.value if self.method else None,
            status_code=self.status_code,
            endpoint=self.endpoint,
            ip=self.ip,
            min_process_time_us=_us(self.min_process_time),
            max_process_time_us=_us(self.max_process_time),
        )


class RawLogQuery(RawLogFilterParams):
    limit: int = Field(
        DEFAULT_PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE, description="How many logs at most."
    )
    offset: int = Field(0, ge=0, le=MAX_OFFSET, description="How many matching logs to skip.")
    before_id: int | None = Field(
        None,
        ge=1,
        le=MAX_DB_INTEGER,
        description=(
            "Keyset paging: only logs listed after the log with this id (pass the last id "
            "of the previous page). Fast at any depth, unlike `offset`."
        ),
    )
    format: RawLogFormat | None = Field(
        None,
        description="`csv` for CSV (like `Accept: text/csv`); JSON otherwise.",
    )

    def to_page(self) -> LogPage:
        return LogPage(limit=self.limit, offset=self.offset, before_id=self.before_id)


class DashboardParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    start: UtcDatetime | None = Field(None, description=_START + " Default: all time.")
    end: UtcDatetime | None = Field(None, description=_END + " Default: all time.")
    granularity: Granularity | None = Field(
        None,
        description=(
            "The time series' bucket size. Default: from the range (or, for all time, from "
            "the span of the logs): up to 2 hours by minute, up to 3 days by hour, else by day."
        ),
    )
    endpoint: Endpoint | None = Field(None, description="Only this endpoint.")
    method: HttpMethod | None = Field(None, description="Only this HTTP method.")
    top: int = Field(
        DEFAULT_TOP,
        ge=1,
        le=MAX_TOP,
        description="How many rows `endpoint_stats` and `top_ips` have at most.",
    )

    def to_query(self) -> DashboardQuery:
        return DashboardQuery(
            time_range=TimeRange(self.start, self.end),
            granularity=self.granularity,
            endpoint=self.endpoint,
            method=self.method.value if self.method else None,
            top=self.top,
        )


def _us(milliseconds: float | None) -> int | None:
    return None if milliseconds is None else ms_to_us(milliseconds)
