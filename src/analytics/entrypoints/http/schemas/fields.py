"""Field types shared by the request and query schemas, with the validation rules of a log.

The rules come from the domain (analytics.domain.logs); here they become pydantic types, so
they are checked while the JSON is parsed and documented in the OpenAPI schema.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from functools import lru_cache
from typing import Annotated

from pydantic import AfterValidator, Field, WithJsonSchema
from pydantic_core import PydanticCustomError

from analytics.domain.logs import (
    HTTP_METHODS,
    MAX_ENDPOINT_LENGTH,
    MAX_PROCESS_TIME_MS,
    MAX_STATUS_CODE,
    MAX_TEXT_LENGTH,
    MIN_STATUS_CODE,
    as_utc,
    normalize_ip,
    strip_control_characters,
)

# Logs dated outside these bounds are a broken clock, not traffic: refusing them keeps every
# bucket computation and every storage's timestamp type far from its limits.
EARLIEST_CREATED_AT = datetime(1970, 1, 1, tzinfo=UTC)
LATEST_CREATED_AT = datetime(2100, 1, 1, tzinfo=UTC)
MAX_DB_INTEGER = 2**63 - 1
YEARS_1970_TO_2099 = "^(19[7-9][0-9]|20[0-9][0-9])-"
HAS_A_NON_CONTROL_CHARACTER = "[^\\u0000-\\u001f\\u007f-\\u009f]"
# The longest IPv6 text is 45 characters; the rest leaves room for a zone (`%eth0`).
MAX_IP_LENGTH = 64

HttpMethod = StrEnum("HttpMethod", {name: name for name in sorted(HTTP_METHODS)})  # type: ignore[misc]
HttpMethod.__doc__ = "An HTTP request method."


def utc(moment: datetime) -> datetime:
    """The moment in UTC; a naive time is taken as UTC."""
    try:
        return as_utc(moment)
    except OverflowError:
        raise PydanticCustomError(
            "datetime_out_of_range", "Datetime is out of range once converted to UTC"
        ) from None


# The validators below run for each field of each log (6 000 calls for a full batch), so
# their common case is kept to a few C-level calls.


def _plausible_created_at(moment: datetime) -> datetime:
    moment = utc(moment)
    if not EARLIEST_CREATED_AT <= moment < LATEST_CREATED_AT:
        raise PydanticCustomError(
            "datetime_out_of_range",
            "created_at must be from 1970-01-01 up to 2100-01-01 (UTC)",
        )
    return moment


# isprintable() is a C loop and true for nearly every real text; the regex only runs for the
# rest (which also holds non-control characters such as U+00A0).


def _endpoint(text: str) -> str:
    if not text.isprintable():
        text = strip_control_characters(text)
    if not 1 <= len(text) <= MAX_ENDPOINT_LENGTH:
        raise PydanticCustomError(
            "endpoint_length",
            "endpoint must have 1 to {limit} characters (control characters removed)",
            {"limit": MAX_ENDPOINT_LENGTH},
        )
    return text


def _optional_text(text: str | None) -> str | None:
    if text is None:
        return None
    if not text.isprintable():
        text = strip_control_characters(text)
    if len(text) > MAX_TEXT_LENGTH:
        raise PydanticCustomError(
            "string_too_long",
            "text must have at most {limit} characters",
            {"limit": MAX_TEXT_LENGTH},
        )
    return text or None


# A batch holds few distinct client addresses, each many times: check each once. (Errors
# are not cached; they are raised again each time.)
@lru_cache(maxsize=4096)
def _ip(text: str | None) -> str | None:
    try:
        return normalize_ip(text)
    except ValueError:
        raise PydanticCustomError(
            "ip_address", "ip must be an IPv4 or IPv6 address, or null"
        ) from None


UtcDatetime = Annotated[datetime, AfterValidator(utc)]

CreatedAt = Annotated[
    datetime,
    Field(
        strict=True,
        description=(
            "When the request was served: ISO 8601, e.g. `2024-02-07T08:00:00`, "
            "`2024-02-07T08:00:00.5Z` or `2024-02-07T09:00:00+01:00`. A time without "
            "offset is UTC. From 1970-01-01 up to 2100-01-01."
        ),
        examples=["2024-02-07T08:00:00.123456Z"],
        # Tells schema-driven clients and fuzzers the accepted years.
        json_schema_extra={"pattern": YEARS_1970_TO_2099},
    ),
    AfterValidator(_plausible_created_at),
]

Endpoint = Annotated[
    str,
    Field(
        strict=True,
        description=(
            "The route template that served the request (e.g. `/users/{user_id}`), or its "
            f"path. 1 to {MAX_ENDPOINT_LENGTH} characters; control characters are removed."
        ),
        json_schema_extra={
            "minLength": 1,
            "maxLength": MAX_ENDPOINT_LENGTH,
            "pattern": HAS_A_NON_CONTROL_CHARACTER,
        },
        examples=["/api/users/{user_id}"],
    ),
    AfterValidator(_endpoint),
]

# What the OpenAPI schema says an `ip` may be (the validator is the authority).
_IP_JSON_SCHEMA = {
    "anyOf": [
        {"type": "string", "format": "ipv4"},
        {"type": "string", "format": "ipv6", "maxLength": MAX_IP_LENGTH},
        {"type": "string", "maxLength": 0},
        {"type": "null"},
    ]
}

IpAddress = Annotated[
    str | None,
    Field(
        strict=True,
        max_length=MAX_IP_LENGTH,
        description="The client's IPv4 or IPv6 address; null or an empty string if unknown.",
        examples=["203.0.113.9"],
    ),
    WithJsonSchema(_IP_JSON_SCHEMA),
    AfterValidator(_ip),
]

# An address to filter by: the same canonical form as stored addresses, so `::0001` finds `::1`.
QueryIp = Annotated[str | None, Field(max_length=MAX_IP_LENGTH), AfterValidator(_ip)]

ProcessTimeMs = Annotated[
    float,
    Field(
        strict=True,
        ge=0,
        le=MAX_PROCESS_TIME_MS,
        allow_inf_nan=False,
        description="How long the app took to answer, in milliseconds (a finite number >= 0).",
        examples=[12.5],
    ),
]

StatusCode = Annotated[
    int,
    Field(
        strict=True,
        ge=MIN_STATUS_CODE,
        le=MAX_STATUS_CODE,
        description="The HTTP status code of the response (100-599); 400 and above are errors.",
        examples=[200],
    ),
]


# An optional text: control characters removed, empty means null. Give each field its
# default and description with `= Field(None, description=...)`.
OptionalText = Annotated[
    str | None,
    Field(strict=True, json_schema_extra={"maxLength": MAX_TEXT_LENGTH}),
    AfterValidator(_optional_text),
]
