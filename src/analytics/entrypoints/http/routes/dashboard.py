"""GET /dashboard: the key's traffic, summarised."""

# No `from __future__ import annotations`: dependency-injector reads the Provide markers
# from the evaluated signature.

from typing import Annotated

from dependency_injector.wiring import Provide, inject
from fastapi import APIRouter, Depends, Query

from analytics.application.build_dashboard import BuildDashboard
from analytics.containers import Container
from analytics.domain.keys import ApiKey
from analytics.entrypoints.http.errors import READ_ERRORS
from analytics.entrypoints.http.schemas.dashboard import DashboardOut
from analytics.entrypoints.http.schemas.queries import DashboardParams
from analytics.entrypoints.http.security import current_key

router = APIRouter(tags=["dashboard"])


@router.get(
    "/dashboard",
    summary="Traffic, latency and errors of the key's logs",
    description=(
        "Times in milliseconds rounded to 2 decimals; `error_rate` in percent (status >= 400). "
        "Without logs: totals 0, times null, `error_rate` 0, empty lists and maps."
    ),
    responses=READ_ERRORS,
)
@inject
def dashboard(
    key: Annotated[ApiKey, Depends(current_key)],
    params: Annotated[DashboardParams, Query()],
    build: Annotated[BuildDashboard, Depends(Provide[Container.build_dashboard])],
) -> DashboardOut:
    return DashboardOut.of(build.execute(key, params.to_query()))
