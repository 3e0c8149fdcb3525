"""POST /generate_key: issue a new API key."""

# No `from __future__ import annotations`: dependency-injector reads the Provide markers
# from the evaluated signature.

from typing import Annotated

from dependency_injector.wiring import Provide, inject
from fastapi import APIRouter, Depends, status

from analytics.application.keys import GenerateKey
from analytics.containers import Container
from analytics.entrypoints.http.errors import RATE_LIMITED, TOO_LARGE, UNAVAILABLE
from analytics.entrypoints.http.rate_limits import limit_key_issuance
from analytics.entrypoints.http.schemas.errors import ErrorMessage
from analytics.entrypoints.http.schemas.keys import NewKey
from analytics.entrypoints.http.security import require_admin

router = APIRouter(tags=["keys"])


@router.post(
    "/generate_key",
    status_code=status.HTTP_201_CREATED,
    summary="Issue a new API key",
    description=(
        "Returns a new key that can send and read logs. It is shown once and stored only as "
        "a hash. When the server has ANALYTICS_ADMIN_TOKEN, send it as "
        "`Authorization: Bearer <token>`."
    ),
    # The rate limit first: it also slows down guessing the admin token.
    dependencies=[Depends(limit_key_issuance), Depends(require_admin)],
    # The admin token is needed only when the server has one: FastAPI's list of security
    # requirements gets an empty alternative appended, which OpenAPI reads as "optional".
    openapi_extra={"security": [{}]},
    responses={
        401: {"model": ErrorMessage, "description": "The admin token is missing or wrong."},
        **TOO_LARGE,
        **RATE_LIMITED,
        **UNAVAILABLE,
    },
)
@inject
def generate_key(
    generate: Annotated[GenerateKey, Depends(Provide[Container.generate_key])],
) -> NewKey:
    issued = generate.execute()
    return NewKey(api_key=issued.api_key, key_id=issued.key_id)
