"""The one place that turns errors into HTTP responses, and documents them.

Use cases raise domain and application errors; each maps to one status code here. Every
validation failure, whether pydantic met it parsing a body or FastAPI parsing a query, is
answered in one shape: `{"detail": [{"loc": [...], "msg": ..., "type": ...}]}`, without
echoing the input back.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from analytics.application.errors import (
    KeyNotFound,
    RateLimited,
    ReadNotAllowed,
    StorageUnavailable,
    UnknownKey,
)
from analytics.domain.errors import DomainError, InvalidQuery
from analytics.entrypoints.http.schemas.errors import ErrorMessage, ValidationErrors

logger = logging.getLogger("analytics.http")

STATUS_OF_ERROR: dict[type[DomainError], int] = {
    UnknownKey: 401,
    ReadNotAllowed: 403,
    KeyNotFound: 404,
    InvalidQuery: 422,
    RateLimited: 429,
    StorageUnavailable: 503,
}
# How long a client should wait before retrying while storage is unavailable, in seconds.
RETRY_AFTER_UNAVAILABLE_S = 5


def status_of(error: DomainError) -> int:
    for kind in type(error).__mro__:
        if kind in STATUS_OF_ERROR:
            return STATUS_OF_ERROR[kind]
    return 400


def retry_after(seconds: float) -> int:
    """Retry-After in whole seconds, never 0 (which would invite an immediate retry)."""
    return max(1, math.ceil(seconds))


def field_errors(errors: Sequence[Any], prefix: tuple[str | int, ...] = ()) -> list[dict]:
    """Validation errors as the API reports them: where, what, and a stable type code."""
    return [
        {
            "loc": [*prefix, *error.get("loc", ())],
            "msg": str(error.get("msg", "")),
            "type": str(error.get("type", "")),
        }
        for error in errors
    ]


def validation_response(error: ValidationError, prefix: tuple[str | int, ...]) -> JSONResponse:
    errors = error.errors(include_url=False, include_context=False, include_input=False)
    return JSONResponse({"detail": field_errors(errors, prefix)}, status_code=422)


async def _domain_error(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, DomainError)
    status = status_of(error)
    headers = {}
    if status == 401:
        headers["WWW-Authenticate"] = 'APIKey header="X-API-Key"'
    elif isinstance(error, RateLimited):
        headers["Retry-After"] = str(retry_after(error.retry_after_s))
    elif status == 503:
        headers["Retry-After"] = str(RETRY_AFTER_UNAVAILABLE_S)
        logger.warning("answering 503: %s", error)
    return JSONResponse({"detail": str(error)}, status_code=status, headers=headers)


async def _request_validation_error(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    return JSONResponse({"detail": field_errors(error.errors())}, status_code=422)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(DomainError, _domain_error)
    app.add_exception_handler(RequestValidationError, _request_validation_error)


def _documented(description: str, model: type = ErrorMessage) -> dict[str, Any]:
    return {"model": model, "description": description}


UNAUTHORIZED = {401: _documented("The `X-API-Key` header is missing, unknown or revoked.")}
FORBIDDEN = {403: _documented("The key is an ingest-only key: it may send logs, not read them.")}
INVALID = {422: _documented("A field or parameter is invalid; `loc` says which.", ValidationErrors)}
TOO_LARGE = {413: _documented("The body is larger than ANALYTICS_MAX_BODY_BYTES (default 2 MB).")}
UNAVAILABLE = {
    503: _documented(
        "Storage cannot be reached or is full, or the request was not answered within "
        "ANALYTICS_REQUEST_TIMEOUT_SECONDS; retry after the `Retry-After` seconds."
    )
}
RATE_LIMITED = {
    429: _documented(
        "Too many requests: over ANALYTICS_INGEST_RATE_PER_SECOND per key (ingest) or "
        "ANALYTICS_KEY_RATE_PER_MINUTE per client IP (issuing keys); retry after the "
        "`Retry-After` seconds."
    )
}
READ_ERRORS = {**UNAUTHORIZED, **FORBIDDEN, **INVALID, **TOO_LARGE, **UNAVAILABLE}
