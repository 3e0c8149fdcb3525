"""Use case: the dashboard of a key's traffic."""

from __future__ import annotations

from datetime import timedelta

from analytics.application.list_raw_logs import require_read
from analytics.application.ports import Clock, LogRepository
from analytics.domain.dashboard import Dashboard, DashboardQuery, render_dashboard
from analytics.domain.keys import ApiKey
from analytics.domain.time import Granularity, default_granularity


class BuildDashboard:
    def __init__(self, logs: LogRepository, clock: Clock) -> None:
        self._logs = logs
        self._clock = clock

    def execute(self, key: ApiKey, query: DashboardQuery) -> Dashboard:
        require_read(key)
        granularity = query.granularity or self._granularity_for(key.owner_id, query)
        data = self._logs.dashboard_data(key.owner_id, query.with_granularity(granularity))
        return render_dashboard(data, granularity)

    def _granularity_for(self, owner_id: str, query: DashboardQuery) -> Granularity:
        start, end = query.time_range.start, query.time_range.end
        if start is not None and end is None:
            end = self._clock.now()
        elif start is None or end is None:
            span = self._logs.time_span(owner_id)
            if span is None:
                return Granularity.DAY
            start = start or span[0]
            end = end or span[1]
        return default_granularity(max(end - start, timedelta(0)))
