"""Where dashboard numbers come from: row sets of one shape, whatever table they are read from.

A `Source` gives four kinds of rows, each a SELECT whose rows the dashboard queries sum up:

- traffic: `t, endpoint, method, status_code, requests, sum_us, min_us, max_us`
- totals:  `t, method, status_code, requests, sum_us, min_us, max_us` (the same summed over
  endpoints; `method` is meaningful only where asked for per method)
- latency: `t, endpoint, latency_bucket, requests`
- ips:     `ip, requests` (non-null IPs only)

`t` is a time in epoch microseconds that lies in the time-series bucket the rows belong to.
A raw log is one such row with `requests = 1`; a rollup row is many logs already summed.
Latency and IP rows are counts only, so a source may also subtract them (`requests < 0`,
see plan.py); their readers drop what sums to zero.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

import sqlalchemy as sa

from analytics.adapters.sqlalchemy.rollups import (
    ANY_ENDPOINT,
    ANY_METHOD,
    ENDPOINT_COARSE_LEVELS,
    IP_ANY_METHOD_LEVELS,
    LATENCY_ANY_METHOD_LEVELS,
    Level,
    endpoint_key,
)
from analytics.adapters.sqlalchemy.tables import request_logs as logs
from analytics.adapters.sqlalchemy.tables import (
    rollup_ips,
    rollup_latency,
    rollup_latency_coarse,
    rollup_totals,
    rollup_traffic,
)
from analytics.domain.latency import COARSE_SHIFT


@dataclass(frozen=True, slots=True)
class Scope:
    """Whose logs a dashboard covers and which of them: the query's filters."""

    owner_id: str
    endpoint: str | None = None
    method: str | None = None


@dataclass(frozen=True, slots=True)
class IpBuckets:
    """Where a source's IPs are rollup rows summed over methods, which are indexed by count
    (`ix_rollup_ips_ranked`): one owner's buckets of one level in [start_us, end_us)."""

    owner_id: str
    level: Level
    start_us: int | None
    end_us: int | None

    @property
    def range(self) -> tuple[int | None, int | None]:
        return self.start_us, self.end_us


@dataclass(frozen=True, slots=True)
class CoarseSeriesLatency:
    """Where a time series' latency rows are those of all endpoints and methods, which also
    have coarse rows (`rollup_latency_coarse`): one owner's buckets of one level in
    [start_us, end_us). Rows are `(bucket_us, bucket, requests)`; the coarse ones come
    ordered by `bucket_us`."""

    owner_id: str
    level: Level
    start_us: int | None
    end_us: int | None

    def coarse(self) -> sa.Select:
        table = rollup_latency_coarse
        return (
            sa.select(table.c.bucket_us, table.c.coarse_bucket, table.c.requests)
            .where(
                table.c.owner_id == self.owner_id,
                table.c.level == int(self.level),
                table.c.endpoint_key == ANY_ENDPOINT,
                *bucket_criteria(table, self.start_us, self.end_us),
                table.c.method == ANY_METHOD,
            )
            .order_by(table.c.bucket_us)
        )

    def fine(self, refine: Mapping[int, Iterable[int]]) -> sa.Select | sa.CompoundSelect:
        """The fine rows of the coarse buckets `refine` maps each bucket_us to."""
        buckets_of: dict[int, list[int]] = {}  # coarse bucket -> the bucket_us wanting it
        for bucket_us, coarse_buckets in refine.items():
            for coarse in coarse_buckets:
                buckets_of.setdefault(coarse, []).append(bucket_us)
        table = rollup_latency
        # One select per coarse bucket (a percentile lies in few): each an index range per
        # bucket_us on both databases, where one select ORing them scanned the whole level.
        selects = [
            sa.select(table.c.bucket_us, table.c.latency_bucket, table.c.requests).where(
                table.c.owner_id == self.owner_id,
                table.c.level == int(self.level),
                table.c.method == SUMMED_OVER_METHODS,
                table.c.bucket_us.in_(buckets),
                _in_coarse_bucket(table.c.latency_bucket, coarse),
            )
            for coarse, buckets in sorted(buckets_of.items())
        ]
        return selects[0] if len(selects) == 1 else sa.union_all(*selects)


@dataclass(frozen=True, slots=True)
class FineEndpointRows:
    """Where one endpoint's fine latency rows of one coarse bucket are: which buckets and
    methods have any (from its coarse rows), so that each read is index ranges."""

    endpoint_key: bytes
    buckets_us: Collection[int]
    methods: Collection[str]
    coarse_bucket: int


@dataclass(frozen=True, slots=True)
class CoarseEndpointLatency:
    """Where the endpoints' latency rows (per method) also have coarse rows: a scope's
    buckets of one level in [start_us, end_us)."""

    scope: Scope
    level: Level
    start_us: int | None
    end_us: int | None

    def coarse(self, endpoint_keys: Collection[bytes]) -> sa.Select:
        """Rows `(endpoint_key, bucket_us, method, coarse_bucket, requests)`."""
        table = rollup_latency_coarse
        statement = sa.select(
            table.c.endpoint_key,
            table.c.bucket_us,
            table.c.method,
            table.c.coarse_bucket,
            table.c.requests,
        ).where(
            table.c.owner_id == self.scope.owner_id,
            table.c.level == int(self.level),
            table.c.endpoint_key.in_(list(endpoint_keys)),
            *bucket_criteria(table, self.start_us, self.end_us),
        )
        if self.scope.method is not None:
            statement = statement.where(table.c.method == self.scope.method)
        return statement

    def fine(self, parts: Sequence[FineEndpointRows]) -> sa.Select | sa.CompoundSelect:
        """Rows `(endpoint_key, bucket, requests)` of `parts`."""
        table = rollup_latency
        selects = [
            sa.select(table.c.endpoint_key, table.c.latency_bucket, table.c.requests).where(
                table.c.owner_id == self.scope.owner_id,
                table.c.level == int(self.level),
                table.c.endpoint_key == part.endpoint_key,
                table.c.bucket_us.in_(sorted(part.buckets_us)),
                table.c.method.in_(sorted(part.methods)),
                _in_coarse_bucket(table.c.latency_bucket, part.coarse_bucket),
            )
            for part in parts
        ]
        return selects[0] if len(selects) == 1 else sa.union_all(*selects)


def _in_coarse_bucket(latency_bucket: sa.ColumnElement[int], coarse: int) -> sa.ColumnElement[bool]:
    return latency_bucket.between(coarse << COARSE_SHIFT, ((coarse + 1) << COARSE_SHIFT) - 1)


class Source(Protocol):
    def traffic(self) -> Sequence[sa.Select]:
        """Rows per endpoint."""
        ...

    def totals(self, per_method: bool) -> Sequence[sa.Select]:
        """Rows summed over endpoints: per method too if `per_method`."""
        ...

    def latency(self, endpoints: Sequence[str] | None = None) -> Sequence[sa.Select]:
        """All of the scope's latency rows, or only those of `endpoints`."""
        ...

    def ips(self) -> Sequence[sa.Select]: ...

    def ip_buckets(self) -> IpBuckets | None:
        """Where all of this source's IPs are in rows indexed by count, if they are."""
        ...

    def latency_parts(self) -> Sequence[RawSource | RollupSource]:
        """The sources of one kind (raw, or one level's rollups) whose latency rows make up
        this source's; a rollup part may also have coarse rows (`coarse_*_latency`)."""
        ...


@dataclass(frozen=True, slots=True)
class RawSource:
    """The raw logs of a scope in [start_us, end_us); a missing bound is open."""

    scope: Scope
    start_us: int | None = None
    end_us: int | None = None

    def traffic(self) -> Sequence[sa.Select]:
        return [self._traffic(logs.c.endpoint)]

    def totals(self, per_method: bool) -> Sequence[sa.Select]:
        return [self._traffic()]

    def _traffic(self, *endpoint: sa.ColumnElement[str]) -> sa.Select:
        return sa.select(
            logs.c.created_us.label("t"),
            *endpoint,
            logs.c.method,
            logs.c.status_code,
            _ONE.label("requests"),
            logs.c.process_time_us.label("sum_us"),
            logs.c.process_time_us.label("min_us"),
            logs.c.process_time_us.label("max_us"),
        ).where(*self._criteria())

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

    def ip_buckets(self) -> IpBuckets | None:
        return None

    def latency_parts(self) -> Sequence[RawSource | RollupSource]:
        return [self]

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
class RollupSource:
    """The rollups of a scope at one level, buckets starting in [start_us, end_us).

    The caller picks bounds on bucket edges (or open), so whole buckets are in or out.
    A `negated` source gives its latency and IP counts negative, to be subtracted; it has
    no traffic or totals rows, whose min and max cannot be taken back.
    """

    scope: Scope
    level: Level
    start_us: int | None = None
    end_us: int | None = None
    negated: bool = False

    def traffic(self) -> Sequence[sa.Select]:
        self._refuse_if_negated()
        return [self._traffic(rollup_traffic.c.endpoint)]

    def totals(self, per_method: bool) -> Sequence[sa.Select]:
        self._refuse_if_negated()
        if self.scope.endpoint is not None:  # one endpoint's rows are few already
            return [self._traffic()]
        table = rollup_totals
        if self.scope.method is not None:
            method = table.c.method == self.scope.method
        elif per_method:
            method = table.c.method != ANY_METHOD
        else:
            method = table.c.method == ANY_METHOD
        return [
            sa.select(
                table.c.bucket_us.label("t"),
                table.c.method,
                table.c.status_code,
                *_sums(table),
            ).where(
                table.c.owner_id == self.scope.owner_id,
                table.c.level == int(self.level),
                *bucket_criteria(table, self.start_us, self.end_us),
                method,
            )
        ]

    def _traffic(self, *endpoint: sa.ColumnElement[str]) -> sa.Select:
        table = rollup_traffic
        statement = sa.select(
            table.c.bucket_us.label("t"),
            *endpoint,
            table.c.method,
            table.c.status_code,
            *_sums(table),
        ).where(*self._criteria(table))
        if self.scope.endpoint is not None:
            statement = statement.where(table.c.endpoint_key == endpoint_key(self.scope.endpoint))
        return statement

    def latency(self, endpoints: Sequence[str] | None = None) -> Sequence[sa.Select]:
        table = rollup_latency
        if endpoints is None:
            return [
                sa.select(
                    table.c.bucket_us.label("t"),
                    sa.literal_column("''", sa.Text).label("endpoint"),
                    table.c.latency_bucket,
                    self._counts(table),
                ).where(*self._scope_rows(table, LATENCY_ANY_METHOD_LEVELS))
            ]
        # Only the endpoint digests are stored here: name each row's endpoint from its digest.
        names = {endpoint_key(endpoint): endpoint for endpoint in endpoints}
        if self.scope.endpoint is not None:
            names = {key: name for key, name in names.items() if name == self.scope.endpoint}
        if not names:
            return []
        endpoint = sa.case(
            *((table.c.endpoint_key == key, sa.literal(name)) for key, name in names.items())
        )
        return [
            sa.select(
                table.c.bucket_us.label("t"),
                endpoint.label("endpoint"),
                table.c.latency_bucket,
                self._counts(table),
            ).where(*self._criteria(table), table.c.endpoint_key.in_(list(names)))
        ]

    def ips(self) -> Sequence[sa.Select]:
        table = rollup_ips
        return [
            sa.select(table.c.ip, self._counts(table)).where(
                *self._scope_rows(table, IP_ANY_METHOD_LEVELS)
            )
        ]

    def ip_buckets(self) -> IpBuckets | None:
        unfiltered = self.scope.endpoint is None and self.scope.method is None
        if unfiltered and self.level in IP_ANY_METHOD_LEVELS and not self.negated:
            return IpBuckets(self.scope.owner_id, self.level, self.start_us, self.end_us)
        return None

    def latency_parts(self) -> Sequence[RawSource | RollupSource]:
        return [self]

    def coarse_series_latency(self) -> CoarseSeriesLatency | None:
        """The coarse rows of this source's latency of all endpoints and methods, if any."""
        unfiltered = self.scope.endpoint is None and self.scope.method is None
        if unfiltered and self.level in LATENCY_ANY_METHOD_LEVELS and not self.negated:
            return CoarseSeriesLatency(self.scope.owner_id, self.level, self.start_us, self.end_us)
        return None

    def coarse_endpoint_latency(self) -> CoarseEndpointLatency | None:
        """The coarse rows of this source's endpoint latency, if any."""
        if self.level in ENDPOINT_COARSE_LEVELS and not self.negated:
            return CoarseEndpointLatency(self.scope, self.level, self.start_us, self.end_us)
        return None

    def _counts(self, table: sa.Table) -> sa.ColumnElement[int]:
        return (-table.c.requests if self.negated else table.c.requests).label("requests")

    def _refuse_if_negated(self) -> None:
        if self.negated:
            raise ValueError("sums with a min and a max cannot be subtracted")

    def _scope_rows(
        self, table: sa.Table, any_method_levels: frozenset[Level]
    ) -> list[sa.ColumnElement[bool]]:
        """The scope's rows of a latency or IP table: its endpoint's, or the ANY_ENDPOINT
        rows; `any_method_levels`: where those are also summed over methods."""
        unfiltered = self.scope.endpoint is None and self.scope.method is None
        if unfiltered and self.level in any_method_levels:
            # Method ANY_METHOD alone picks them (only ANY_ENDPOINT rows have it), spelled as
            # a literal: then both databases read them from the partial indexes
            # `WHERE method = ''` (migrations 0007, 0008), not among every method's rows.
            return [*self._criteria(table), table.c.method == SUMMED_OVER_METHODS]
        key = ANY_ENDPOINT if self.scope.endpoint is None else endpoint_key(self.scope.endpoint)
        return [*self._criteria(table, any_method_levels), table.c.endpoint_key == key]

    def _criteria(
        self, table: sa.Table, any_method_levels: frozenset[Level] = frozenset()
    ) -> list[sa.ColumnElement[bool]]:
        """Owner, level, buckets and the scope's method; none of the rows summed over
        methods at `any_method_levels` (never count a log twice)."""
        criteria = [
            table.c.owner_id == self.scope.owner_id,
            table.c.level == int(self.level),
            *bucket_criteria(table, self.start_us, self.end_us),
        ]
        if self.scope.method is not None:
            criteria.append(table.c.method == self.scope.method)
        elif any_method_levels:
            criteria.append(table.c.method != ANY_METHOD)
        return criteria


def bucket_criteria(
    table: sa.Table | sa.TableClause, start_us: int | None, end_us: int | None
) -> list[sa.ColumnElement[bool]]:
    criteria = []
    if start_us is not None:
        criteria.append(table.c.bucket_us >= start_us)
    if end_us is not None:
        criteria.append(table.c.bucket_us < end_us)
    return criteria


@dataclass(frozen=True, slots=True)
class CombinedSource:
    """The rows of several sources covering disjoint parts of a time range."""

    parts: Sequence[Source]

    def traffic(self) -> Sequence[sa.Select]:
        return [select for part in self.parts for select in part.traffic()]

    def totals(self, per_method: bool) -> Sequence[sa.Select]:
        return [select for part in self.parts for select in part.totals(per_method)]

    def latency(self, endpoints: Sequence[str] | None = None) -> Sequence[sa.Select]:
        return [select for part in self.parts for select in part.latency(endpoints)]

    def ips(self) -> Sequence[sa.Select]:
        return [select for part in self.parts for select in part.ips()]

    def ip_buckets(self) -> IpBuckets | None:
        return None

    def latency_parts(self) -> Sequence[RawSource | RollupSource]:
        return [leaf for part in self.parts for leaf in part.latency_parts()]


@dataclass(frozen=True, slots=True)
class SplitSource:
    """The same logs read two ways: traffic and totals from `sums`; latency and IPs from
    `counts`, which may reach them more cheaply by subtracting rollups."""

    sums: Source
    counts: Source

    def traffic(self) -> Sequence[sa.Select]:
        return self.sums.traffic()

    def totals(self, per_method: bool) -> Sequence[sa.Select]:
        return self.sums.totals(per_method)

    def latency(self, endpoints: Sequence[str] | None = None) -> Sequence[sa.Select]:
        return self.counts.latency(endpoints)

    def ips(self) -> Sequence[sa.Select]:
        return self.counts.ips()

    def ip_buckets(self) -> IpBuckets | None:
        return self.counts.ip_buckets()

    def latency_parts(self) -> Sequence[RawSource | RollupSource]:
        return self.counts.latency_parts()


def _sums(table: sa.Table) -> tuple[sa.ColumnElement[int], ...]:
    return (table.c.requests, table.c.sum_us, table.c.min_us, table.c.max_us)


_ONE = sa.literal_column("1", sa.BigInteger)
SUMMED_OVER_METHODS = sa.literal_column(f"'{ANY_METHOD}'", sa.String)
