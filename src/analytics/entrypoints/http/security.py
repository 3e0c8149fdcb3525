"""Who is calling: the API key of /track, /raw_logs and /dashboard, and the admin token."""

# No `from __future__ import annotations`: dependency-injector reads the Provide markers
# from the evaluated signature.

import hmac
from typing import Annotated

from dependency_injector.wiring import Provide, inject
from fastapi import Depends, HTTPException, Request, Security
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from analytics.application.keys import AuthenticateKey
from analytics.containers import Container
from analytics.domain.keys import ApiKey
from analytics.entrypoints.settings import Settings

API_KEY_HEADER = "X-API-Key"

_api_key_header = APIKeyHeader(
    name=API_KEY_HEADER,
    auto_error=False,
    scheme_name="ApiKey",
    description="The key POST /generate_key returned.",
)
_admin_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="AdminToken",
    description="ANALYTICS_ADMIN_TOKEN, when the server has one (needed by POST /generate_key).",
)


@inject
def current_key(
    authenticate: Annotated[AuthenticateKey, Depends(Provide[Container.authenticate_key])],
    api_key: Annotated[str | None, Security(_api_key_header)] = None,
) -> ApiKey:
    """The stored key the caller presented; UnknownKey (401) otherwise."""
    return authenticate.execute(api_key)


def require_admin(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Security(_admin_bearer)] = None,
) -> None:
    """Pass when no admin token is configured or the caller sent it as a bearer token."""
    settings: Settings = request.app.state.settings
    if settings.admin_token is None:
        return
    expected = settings.admin_token.get_secret_value().encode()
    presented = credentials.credentials.encode() if credentials else b""
    if not hmac.compare_digest(presented, expected):
        raise HTTPException(
            status_code=401,
            detail="this server needs its admin token: Authorization: Bearer <token>",
            headers={"WWW-Authenticate": "Bearer"},
        )
