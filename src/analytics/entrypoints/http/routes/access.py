"""POST /keys/ingest and DELETE /keys/{key_id}: write-only keys, and revoking keys."""

# No `from __future__ import annotations`: dependency-injector reads the Provide markers
# from the evaluated signature.

from typing import Annotated

from dependency_injector.wiring import Provide, inject
from fastapi import APIRouter, Depends, Path, Response, status

from analytics.application.access import IssueIngestKey, RevokeKey
from analytics.containers import Container
from analytics.domain.keys import ApiKey
from analytics.entrypoints.http.errors import (
    FORBIDDEN,
    RATE_LIMITED,
    TOO_LARGE,
    UNAUTHORIZED,
    UNAVAILABLE,
)
from analytics.entrypoints.http.rate_limits import limit_key_issuance_to_key_holders
from analytics.entrypoints.http.schemas.access import NewIngestKey
from analytics.entrypoints.http.schemas.errors import ErrorMessage
from analytics.entrypoints.http.security import current_key

router = APIRouter(tags=["keys"])

MAX_KEY_ID_LENGTH = 64  # the width of the stored key id
ACCESS_ERRORS = {**UNAUTHORIZED, **FORBIDDEN, **TOO_LARGE, **UNAVAILABLE}


@router.post(
    "/keys/ingest",
    status_code=status.HTTP_201_CREATED,
    summary="Issue a write-only ingest key",
    description=(
        "Needs a full key in `X-API-Key`. The new key may send logs (`/track`, "
        "`/track/batch`), which land in the full key's data, but gets 403 on every read: "
        "embed it in an app instead of your full key."
    ),
    dependencies=[Depends(limit_key_issuance_to_key_holders)],
    responses={**ACCESS_ERRORS, **RATE_LIMITED},
)
@inject
def issue_ingest_key(
    key: Annotated[ApiKey, Depends(current_key)],
    issue: Annotated[IssueIngestKey, Depends(Provide[Container.issue_ingest_key])],
) -> NewIngestKey:
    issued = issue.execute(key)
    return NewIngestKey(key_id=issued.key_id, api_key=issued.api_key, scope="ingest")


@router.delete(
    "/keys/{key_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    summary="Revoke a key",
    description=(
        "Needs a full key in `X-API-Key`, which may revoke itself or the ingest keys it "
        "issued. A revoked key gets 401 everywhere. Revoking a full key also revokes its "
        "ingest keys. The data stays (revoking is not deleting)."
    ),
    responses={
        **ACCESS_ERRORS,
        404: {"model": ErrorMessage, "description": "No key with this id is yours to revoke."},
    },
)
@inject
def revoke_key(
    key: Annotated[ApiKey, Depends(current_key)],
    key_id: Annotated[str, Path(min_length=1, max_length=MAX_KEY_ID_LENGTH)],
    revoke: Annotated[RevokeKey, Depends(Provide[Container.revoke_key])],
) -> Response:
    revoke.execute(key, key_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
