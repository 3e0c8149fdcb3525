"""POST /track and POST /track/batch: store logs a client middleware sends.

The body is read as bytes and parsed straight from them by pydantic's JSON parser
(`validate_json`): one pass in compiled code, which runs the fields' rules as it goes.
"""

# No `from __future__ import annotations`: dependency-injector reads the Provide markers
# from the evaluated signature.

import logging
from typing import Annotated, Any

from dependency_injector.wiring import Provide, inject
from fastapi import APIRouter, Depends, HTTPException, Request, status
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, TypeAdapter, ValidationError

from analytics.application.ingest_logs import IngestLogs
from analytics.containers import Container
from analytics.domain.keys import ApiKey
from analytics.entrypoints.http.errors import (
    INVALID,
    TOO_LARGE,
    UNAUTHORIZED,
    UNAVAILABLE,
    field_errors,
)
from analytics.entrypoints.http.schemas.logs import (
    MAX_BATCH_SIZE,
    TRACK_BATCH_BODY,
    TRACK_LOG_BODY,
    Accepted,
    TrackBatch,
    TrackLog,
    request_logs,
)
from analytics.entrypoints.http.security import current_key

logger = logging.getLogger("analytics.ingest")

router = APIRouter(tags=["tracking"])

INGEST_ERRORS = {**UNAUTHORIZED, **INVALID, **TOO_LARGE, **UNAVAILABLE}


async def request_body(request: Request) -> bytes:
    return await request.body()


def _parse(fields: TypeAdapter[dict[str, Any]], body: bytes) -> dict[str, Any]:
    try:
        return fields.validate_json(body)
    except ValidationError as error:
        errors = error.errors(include_url=False, include_context=False, include_input=False)
        if any(e["type"] == "too_long" and tuple(e["loc"]) == ("logs",) for e in errors):
            raise HTTPException(
                status_code=status.HTTP_413_CONTENT_TOO_LARGE,
                detail=f"a batch holds at most {MAX_BATCH_SIZE} logs",
            ) from None
        for error in errors:
            # pydantic names a body or log that is not a JSON object "dict_type" when it
            # validates a TypedDict; the API has always answered "model_type".
            if error["type"] == "dict_type":
                error["type"] = "model_type"
        raise RequestValidationError(field_errors(errors, ("body",))) from None


# Sync on purpose: FastAPI runs them in its thread pool, so parsing a large body does not
# hold up the event loop.
def track_log_body(body: Annotated[bytes, Depends(request_body)]) -> dict[str, Any]:
    return _parse(TRACK_LOG_BODY, body)


def track_batch_body(body: Annotated[bytes, Depends(request_body)]) -> dict[str, Any]:
    return _parse(TRACK_BATCH_BODY, body)


def _json_body(model: type[BaseModel]) -> dict[str, Any]:
    """OpenAPI for a body the route parses itself; the schema is added by openapi.py."""
    reference = {"$ref": f"#/components/schemas/{model.model_config.get('title')}"}
    return {
        "requestBody": {"required": True, "content": {"application/json": {"schema": reference}}}
    }


@router.post(
    "/track",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Store one log",
    description=(
        "The body the original (seed) middleware sends: `created_at`, `method`, `endpoint`, "
        "`ip`, `process_time` (ms) and `status_code`, plus optional `path`, `user_agent`, "
        "`consumer`."
    ),
    openapi_extra=_json_body(TrackLog),
    responses=INGEST_ERRORS,
)
@inject
def track(
    key: Annotated[ApiKey, Depends(current_key)],
    log: Annotated[dict[str, Any], Depends(track_log_body)],
    ingest: Annotated[IngestLogs, Depends(Provide[Container.ingest_logs])],
) -> Accepted:
    return Accepted(accepted=ingest.execute(key, request_logs([log])))


@router.post(
    "/track/batch",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Store up to 1000 logs, all or none",
    description=(
        f"`logs` holds at most {MAX_BATCH_SIZE} logs (more: 413). If any log is invalid, "
        "nothing is stored and the 422 names its index and field, e.g. "
        '`["body", "logs", 3, "status_code"]`. A batch sent again with the same `batch_id` '
        "(a retry) is answered like the first time and not stored twice."
    ),
    openapi_extra=_json_body(TrackBatch),
    responses=INGEST_ERRORS,
)
@inject
def track_batch(
    key: Annotated[ApiKey, Depends(current_key)],
    batch: Annotated[dict[str, Any], Depends(track_batch_body)],
    ingest: Annotated[IngestLogs, Depends(Provide[Container.ingest_logs])],
) -> Accepted:
    if batch["dropped"]:
        logger.warning(
            "key %s: its client dropped %d request records before sending batch %s",
            key.key_id,
            batch["dropped"],
            batch["batch_id"],
        )
    return Accepted(accepted=ingest.execute(key, request_logs(batch["logs"]), batch["batch_id"]))
