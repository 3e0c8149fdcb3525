"""The /dashboard answer: the seed's shape plus percentiles. Times in ms, rates in percent."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from analytics.domain.dashboard import Dashboard
from analytics.domain.time import Granularity

_MS = "in milliseconds, rounded to 2 decimals; null without requests"
_ERROR_RATE = "Share of requests with a status >= 400, in percent (0-100, 2 decimals)."


class _FromDomain(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class SummaryOut(_FromDomain):
    total_requests: int = Field(description="Requests in the range.")
    unique_ips: int = Field(description="Distinct client IP addresses (unknown ones not counted).")
    avg_response_time: float | None = Field(description=f"Mean response time, {_MS}.")
    min_response_time: float | None = Field(description=f"Fastest response, {_MS}.")
    max_response_time: float | None = Field(description=f"Slowest response, {_MS}.")
    p50_response_time: float | None = Field(
        description=f"Median response time (within 1% of the exact value), {_MS}."
    )
    p95_response_time: float | None = Field(
        description=f"95th percentile response time (within 1%), {_MS}."
    )
    p99_response_time: float | None = Field(
        description=f"99th percentile response time (within 1%), {_MS}."
    )
    error_rate: float = Field(description=_ERROR_RATE)


class EndpointStatsOut(_FromDomain):
    endpoint: str = Field(description="The endpoint (route template or path).")
    requests: int = Field(description="Requests to it.")
    avg_time: float | None = Field(description=f"Mean response time, {_MS}.")
    p95_time: float | None = Field(description=f"95th percentile response time, {_MS}.")
    errors_count: int = Field(description="Its requests with a status >= 400.")


class TopIpOut(_FromDomain):
    ip: str = Field(description="A client IP address.")
    requests: int = Field(description="Requests from it.")


class TimeSeriesOut(_FromDomain):
    timestamp: str = Field(
        description=(
            "The bucket, UTC: `YYYY-MM-DDTHH:MM` (minute), `YYYY-MM-DDTHH:00` (hour), "
            "`YYYY-MM-DD` (day; for week the Monday), `YYYY-MM` (month)."
        )
    )
    requests: int = Field(description="Requests in the bucket.")
    avg_time: float | None = Field(description=f"Mean response time, {_MS}.")
    p95_time: float | None = Field(description=f"95th percentile response time, {_MS}.")
    error_rate: float = Field(description=_ERROR_RATE)


class DashboardOut(_FromDomain):
    summary: SummaryOut
    method_usage: dict[str, int] = Field(description="Requests per HTTP method, most used first.")
    endpoint_stats: list[EndpointStatsOut] = Field(
        description="The `top` busiest endpoints: most requests first, ties by endpoint."
    )
    status_codes: dict[str, int] = Field(description="Requests per status code, ascending.")
    top_ips: list[TopIpOut] = Field(
        description="The `top` busiest client IPs: most requests first, ties by IP."
    )
    time_series: list[TimeSeriesOut] = Field(
        description="One row per bucket that has requests, oldest first."
    )
    granularity: Granularity = Field(description="The bucket size `time_series` uses.")

    @classmethod
    def of(cls, dashboard: Dashboard) -> DashboardOut:
        return cls.model_validate(dashboard)
