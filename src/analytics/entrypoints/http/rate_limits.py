"""Rate limits as FastAPI dependencies: ingest per key, issuing keys per client IP.

Over a limit the use case raises RateLimited, answered 429 with Retry-After (errors.py).
The client IP is the connection's peer, or, behind a proxy listed in
ANALYTICS_TRUSTED_PROXIES, the address it forwarded (proxies.py rewrites the peer).
"""

# No `from __future__ import annotations`: dependency-injector reads the Provide markers
# from the evaluated signature.

from dataclasses import dataclass
from typing import Annotated

from dependency_injector.wiring import Provide, inject
from fastapi import Depends, Request

from analytics.application.rate_limits import LimitRate
from analytics.containers import Container
from analytics.domain.keys import ApiKey
from analytics.domain.rate_limit import RateLimit
from analytics.entrypoints.http.security import current_key
from analytics.entrypoints.settings import Settings

UNKNOWN_CLIENT = "unknown"  # an ASGI server may not tell the peer (e.g. a Unix socket)


@dataclass(frozen=True, slots=True)
class RateLimits:
    """The limits a server enforces; None where a limit is turned off."""

    ingest: RateLimit | None
    key_issuance: RateLimit | None

    @classmethod
    def of(cls, settings: Settings) -> "RateLimits":
        ingest = None
        if settings.ingest_rate_per_second > 0:
            ingest = RateLimit(
                "ingest per key", settings.ingest_rate_per_second, settings.ingest_rate_burst
            )
        key_issuance = None
        if settings.key_rate_per_minute > 0:
            key_issuance = RateLimit(
                "key issuance per client IP",
                settings.key_rate_per_minute / 60,
                settings.key_rate_burst,
            )
        return cls(ingest=ingest, key_issuance=key_issuance)


def _limits(request: Request) -> RateLimits:
    return request.app.state.rate_limits


@inject
def limit_ingest(
    request: Request,
    key: Annotated[ApiKey, Depends(current_key)],
    limit_rate: Annotated[LimitRate, Depends(Provide[Container.limit_rate])],
) -> None:
    """Count the request against its key's ingest limit (after the key is authenticated)."""
    limit = _limits(request).ingest
    if limit is not None:
        limit_rate.execute(limit, key.key_id)


@inject
def limit_key_issuance(
    request: Request,
    limit_rate: Annotated[LimitRate, Depends(Provide[Container.limit_rate])],
) -> None:
    """Count the request against its client IP's key-issuance limit."""
    limit = _limits(request).key_issuance
    if limit is not None:
        limit_rate.execute(limit, client_ip(request))


def limit_key_issuance_to_key_holders(
    _key: Annotated[ApiKey, Depends(current_key)],
    _counted: Annotated[None, Depends(limit_key_issuance)],
) -> None:
    """The same count for routes that need a key: the key first (missing or unknown: 401)."""


def client_ip(request: Request) -> str:
    return request.client.host if request.client else UNKNOWN_CLIENT
