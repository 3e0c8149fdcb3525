"""The FastAPI application factory.

uvicorn builds the app by calling `create_app` (`--factory`), so importing this module
builds nothing and opens no database. The app's lifespan brings the storage schema up to
date before the first request and closes the storage after the last one.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from anyio import to_thread
from fastapi import Depends, FastAPI

from analytics import SERVICE_NAME, __version__
from analytics.containers import Container, start_storage
from analytics.entrypoints.http import rate_limits, security
from analytics.entrypoints.http.allowed_methods import install_allowed_methods
from analytics.entrypoints.http.api_docs import install_api_docs
from analytics.entrypoints.http.body_limit import BodySizeLimit
from analytics.entrypoints.http.edge import install_edge_middleware
from analytics.entrypoints.http.errors import RATE_LIMITED, install_error_handlers
from analytics.entrypoints.http.expiry import expiring_old_data
from analytics.entrypoints.http.openapi import install_openapi
from analytics.entrypoints.http.routes import (
    access,
    dashboard,
    keys,
    meta,
    raw_logs,
    tracking,
)
from analytics.entrypoints.http.ui import router as ui_router
from analytics.entrypoints.settings import Settings, container_for

logger = logging.getLogger("analytics")

FACTORY = "analytics.entrypoints.http.app:create_app"
ROUTE_MODULES = (keys, access, tracking, raw_logs, dashboard, meta)
# The modules whose @inject functions take providers from the container.
WIRED_MODULES = (security, rate_limits, *ROUTE_MODULES)
# Every /track* route counts against its key's ingest limit, before its body is read.
ROUTER_OPTIONS = {
    tracking: {
        "dependencies": [Depends(rate_limits.limit_ingest)],
        "responses": RATE_LIMITED,
    }
}

DESCRIPTION = """
Self-hostable API-usage analytics. A client middleware in your FastAPI app sends one log
per request to `/track/batch`; `/dashboard` and `/raw_logs` read them back.

Every call but `/`, `/health` and `/generate_key` needs the `X-API-Key` header.
Times are in milliseconds; error rates in percent (an error is a status >= 400).

Limits (each an `ANALYTICS_*` setting): ingest per key and key issuance per client IP are
rate-limited (429 with `Retry-After`), bodies over `ANALYTICS_MAX_BODY_BYTES` get 413, and
a request not answered within `ANALYTICS_REQUEST_TIMEOUT_SECONDS` gets 503.
""".strip()


def create_app(container: Container | None = None, settings: Settings | None = None) -> FastAPI:
    """The app, served from `container` (built from `settings` when not given)."""
    settings = settings or Settings()
    if container is None:
        container = container_for(settings)

    app = FastAPI(
        title=SERVICE_NAME,
        version=__version__,
        description=DESCRIPTION,
        lifespan=_lifespan,
        docs_url=None,
        redoc_url=None,
    )
    app.state.container = container
    app.state.settings = settings
    install_error_handlers(app)
    install_allowed_methods(app)
    app.state.rate_limits = rate_limits.RateLimits.of(settings)
    for module in ROUTE_MODULES:
        app.include_router(module.router, **ROUTER_OPTIONS.get(module, {}))
    app.include_router(ui_router)
    install_openapi(app)
    install_api_docs(app)
    app.add_middleware(BodySizeLimit, max_body_bytes=settings.max_body_bytes)
    install_edge_middleware(app, settings)

    container.wire(modules=list(WIRED_MODULES))
    if settings.admin_token is None:
        logger.warning(
            "ANALYTICS_ADMIN_TOKEN is not set: anyone who reaches this server can create "
            "API keys with POST /generate_key"
        )
    return app


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    container: Container = app.state.container
    # Migrations block on the database; keep them off the event loop.
    await to_thread.run_sync(start_storage, container)
    try:
        async with expiring_old_data(container, app.state.settings):
            yield
    finally:
        await to_thread.run_sync(container.release_storage)
