"""Where dashboard numbers come from: row sets of one shape, whatever table they are read from.

A `Source` gives three kinds of rows, each a SELECT whose rows the dashboard queries sum up:

- traffic: `t, endpoint, method, status_code, requests, sum_us, min_us, max_us`
- latency: `t, endpoint, latency_bucket, requests`
- ips:     `ip, requests` (non-null IPs only)

`t` is a time in epoch microseconds that lies in the time-series bucket the rows belong to.
A raw log is one such row with `requests = 1`; a rollup row is many logs already summed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import sqlalchemy as sa

from analytics.adapters.sqlalchemy.tables import request_logs as logs


@dataclass(frozen=True, slots=True)
class Scope:
    """Whose logs a dashboard covers and which of them: the query's filters."""

    owner_id: str
    endpoint: str | None = None
    method: str | None = None


class Source(Protocol):
    def traffic(self) -> Sequence[sa.Select]: ...

    def latency(self, endpoints: Sequence[str] | None = None) -> Sequence[sa.Select]:
        """All of the scope's latency rows, or only those of `endpoints`."""
        ...

    def ips(self) -> Sequence[sa.Select]: ...


@dataclass(frozen=True, slots=True)
class RawSource:
    """The raw logs of a scope in [start_us, end_us); a missing bound is open."""

    scope: Scope
    start_us: int | None = None
    end_us: int | None = None

    def traffic(self) -> Sequence[sa.Select]:
        return [
            sa.select(
                logs.c.created_us.label("t"),
                logs.c.endpoint,
                logs.c.method,
                logs.c.status_code,
                _ONE.label("requests"),
                logs.c.process_time_us.label("sum_us"),
                logs.c.process_time_us.label("min_us"),
                logs.c.process_time_us.label("max_us"),
            ).where(*self._criteria())
        ]

    def latency(self, endpoints: Sequence[str] | None = None) -> Sequence[sa.Select]:
        statement = sa.select(
            logs.c.created_us.label("t"),
            logs.c.endpoint,
            logs.c.latency_bucket,
            _ONE.label("requests"),
        ).where(*self._criteria())
        if endpoints is not None:
            statement = statement.where(logs.c.endpoint.in_(endpoints))
        return [statement]

    def ips(self) -> Sequence[sa.Select]:
        return [
            sa.select(logs.c.ip, _ONE.label("requests")).where(
                *self._criteria(), logs.c.ip.is_not(None)
            )
        ]

    def _criteria(self) -> list[sa.ColumnElement[bool]]:
        criteria = [logs.c.owner_id == self.scope.owner_id]
        if self.start_us is not None:
            criteria.append(logs.c.created_us >= self.start_us)
        if self.end_us is not None:
            criteria.append(logs.c.created_us < self.end_us)
        if self.scope.endpoint is not None:
            criteria.append(logs.c.endpoint == self.scope.endpoint)
        if self.scope.method is not None:
            criteria.append(logs.c.method == self.scope.method)
        return criteria


@dataclass(frozen=True, slots=True)
class CombinedSource:
    """The rows of several sources covering disjoint parts of a time range."""

    parts: Sequence[Source]

    def traffic(self) -> Sequence[sa.Select]:
        return [select for part in self.parts for select in part.traffic()]

    def latency(self, endpoints: Sequence[str] | None = None) -> Sequence[sa.Select]:
        return [select for part in self.parts for select in part.latency(endpoints)]

    def ips(self) -> Sequence[sa.Select]:
        return [select for part in self.parts for select in part.ips()]


_ONE = sa.literal_column("1", sa.BigInteger)
