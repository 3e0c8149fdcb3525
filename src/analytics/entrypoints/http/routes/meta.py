"""GET / and GET /health: what this service is, and whether it can serve."""

# No `from __future__ import annotations`: dependency-injector reads the Provide markers
# from the evaluated signature.

from typing import Annotated

from dependency_injector.wiring import Provide, inject
from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse

from analytics import SERVICE_NAME, __version__
from analytics.application.check_health import CheckHealth
from analytics.application.errors import StorageUnavailable
from analytics.containers import Container
from analytics.entrypoints.http.errors import RETRY_AFTER_UNAVAILABLE_S
from analytics.entrypoints.http.schemas.meta import Health, ServiceInfo

router = APIRouter(tags=["meta"])


@router.get("/", summary="Service name and version")
def service_info() -> ServiceInfo:
    return ServiceInfo(name=SERVICE_NAME, version=__version__, docs="/docs")


@router.get(
    "/health",
    summary="Is storage reachable?",
    response_model=Health,
    responses={503: {"model": Health, "description": "Storage cannot be reached."}},
)
@inject
def health(
    check: Annotated[CheckHealth, Depends(Provide[Container.check_health])],
) -> JSONResponse:
    try:
        available = check.execute()
    except StorageUnavailable:
        available = False
    if available:
        return JSONResponse({"status": "ok"})
    return JSONResponse(
        {"status": "unavailable"},
        status_code=503,
        headers={"Retry-After": str(RETRY_AFTER_UNAVAILABLE_S)},
    )
