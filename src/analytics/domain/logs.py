"""The request log: one request a tracked app served, as the middleware reports it."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from datetime import UTC, datetime

HTTP_METHODS: frozenset[str] = frozenset(
    {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT"}
)
MIN_STATUS_CODE = 100
MAX_STATUS_CODE = 599
MAX_ENDPOINT_LENGTH = 2048
MAX_TEXT_LENGTH = 2048
# A request that took longer than a day is a broken clock, not a slow endpoint; the bound
# also keeps sums of microseconds far inside a signed 64-bit integer.
MAX_PROCESS_TIME_MS = 86_400_000.0
ERROR_STATUS_FROM = 400

_CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f-\x9f]")


@dataclass(frozen=True, slots=True)
class RequestLog:
    """One tracked request.

    `process_time_us` is the time the app took, in whole microseconds: integers make sums
    exact, so every storage adapter computes the very same averages. The HTTP layer speaks
    milliseconds (`process_time`), as the seed did.
    """

    created_at: datetime  # timezone-aware, UTC
    method: str
    endpoint: str
    ip: str | None
    process_time_us: int
    status_code: int
    path: str | None = None
    user_agent: str | None = None
    consumer: str | None = None

    @property
    def is_error(self) -> bool:
        return is_error_status(self.status_code)

    @property
    def process_time_ms(self) -> float:
        return self.process_time_us / 1000


@dataclass(frozen=True, slots=True)
class StoredLog:
    """A request log as storage returns it: with the id storage gave it."""

    id: int
    log: RequestLog


def is_error_status(status_code: int) -> bool:
    return status_code >= ERROR_STATUS_FROM


def ms_to_us(process_time_ms: float) -> int:
    return round(process_time_ms * 1000)


def as_utc(moment: datetime) -> datetime:
    """A naive time is taken as UTC; an aware one is converted to UTC."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def strip_control_characters(text: str) -> str:
    return _CONTROL_CHARACTERS.sub("", text)


def normalize_ip(raw: str | None) -> str | None:
    """The canonical text of an IPv4/IPv6 address; None for a missing or empty one.

    Raises ValueError for anything that is not an address.
    """
    if raw is None or raw == "":
        return None
    return str(ipaddress.ip_address(raw.strip()))
