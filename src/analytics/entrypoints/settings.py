"""The service's settings, read from `ANALYTICS_*` environment variables (or a `.env` file),
and the container they configure."""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated, Any

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from analytics.containers import Container

DEFAULT_DATABASE_URL = "sqlite:///./analytics.db"
ORIGIN = re.compile(r"https?://(\[[0-9A-Fa-f:.]+\]|[^/\s:\[\]]+)(:[0-9]{1,5})?")
DEFAULT_MAX_BODY_BYTES = 2 * 1024 * 1024
DEFAULT_EXPIRY_INTERVAL_SECONDS = 600.0
# Generous: far above what a busy app's middleware sends (a batch a second per process, or
# one /track per request for the seed middleware); they stop runaway or hostile clients.
DEFAULT_INGEST_RATE_PER_SECOND = 1000.0
DEFAULT_INGEST_RATE_BURST = 2000
DEFAULT_KEY_RATE_PER_MINUTE = 30.0
DEFAULT_KEY_RATE_BURST = 60
# Long enough for a batch queued behind many SQLite writers on a slow machine; a client
# middleware gives up after its own 5 s and retries anyway. Mostly against stuck requests.
DEFAULT_REQUEST_TIMEOUT_SECONDS = 60.0


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="ANALYTICS_", env_file=".env", extra="ignore", frozen=True
    )

    database_url: str = Field(
        DEFAULT_DATABASE_URL,
        description="Where logs and keys live: memory://, sqlite:///path or postgresql+psycopg://...",
    )
    admin_token: SecretStr | None = Field(
        None,
        description="When set, POST /generate_key needs `Authorization: Bearer <token>`.",
    )
    max_body_bytes: int = Field(
        DEFAULT_MAX_BODY_BYTES,
        gt=0,
        description="Largest request body accepted, in bytes; larger ones get 413.",
    )
    retention_days: int | None = Field(
        None,
        gt=0,
        description=(
            "Raw logs older than this many days are deleted in the background; dashboards "
            "keep counting them (rollups stay). Unset: raw logs are kept forever."
        ),
    )
    expiry_interval_seconds: float = Field(
        DEFAULT_EXPIRY_INTERVAL_SECONDS,
        gt=0,
        description=(
            "How often the background expiry runs: retention, and forgetting batch ids "
            "older than 24 hours."
        ),
    )

    ingest_rate_per_second: float = Field(
        DEFAULT_INGEST_RATE_PER_SECOND,
        ge=0,
        description=(
            "Requests one key may send to /track and /track/batch per second, sustained, per "
            "server process; 0 turns the limit off. Over it: 429 with Retry-After."
        ),
    )
    ingest_rate_burst: int = Field(
        DEFAULT_INGEST_RATE_BURST,
        ge=1,
        description="Requests one key may send to /track and /track/batch at once.",
    )
    key_rate_per_minute: float = Field(
        DEFAULT_KEY_RATE_PER_MINUTE,
        ge=0,
        description=(
            "Keys one client IP may request (POST /generate_key, POST /keys/ingest) per "
            "minute, sustained, per server process; 0 turns the limit off."
        ),
    )
    key_rate_burst: int = Field(
        DEFAULT_KEY_RATE_BURST,
        ge=1,
        description="Keys one client IP may request at once.",
    )
    request_timeout_seconds: float = Field(
        DEFAULT_REQUEST_TIMEOUT_SECONDS,
        gt=0,
        description=(
            "A request not answered within this many seconds, reading its body included, "
            "gets 503 with Retry-After."
        ),
    )
    cors_origins: Annotated[list[str], NoDecode] = Field(
        [],
        description=(
            "Origins whose web pages may call the API (comma-separated, `*` for any); "
            "empty: no CORS headers, browsers allow same-origin calls only."
        ),
    )
    trusted_proxies: Annotated[list[str], NoDecode] = Field(
        [],
        description=(
            "Addresses or networks (comma-separated, e.g. `10.0.0.0/8`) of reverse proxies "
            "whose X-Forwarded-For and X-Forwarded-Proto are believed; empty: the client "
            "IP is the connection's peer."
        ),
    )

    @field_validator("cors_origins", "trusted_proxies", mode="before")
    @classmethod
    def _comma_separated(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [item.strip() for item in value.split(",") if item.strip()]
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _addresses_or_networks(cls, value: list[str]) -> list[str]:
        for item in value:
            if item != "*":
                try:
                    ipaddress.ip_network(item, strict=False)
                except ValueError:
                    raise ValueError(f"{item!r} is not an IP address or network") from None
        return value

    @field_validator("cors_origins")
    @classmethod
    def _origins(cls, value: list[str]) -> list[str]:
        # A browser sends `Origin: https://host[:port]`; anything else would never match.
        for origin in value:
            if origin != "*" and not ORIGIN.fullmatch(origin):
                raise ValueError(f"{origin!r} is not an origin like https://example.com")
        return value

    @field_validator("admin_token", "retention_days", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: Any) -> Any:
        return None if value == "" else value

    def container_config(self) -> dict[str, Any]:
        """The options the composition root (analytics.containers.Container) takes."""
        return {"database_url": self.database_url}


def container_for(settings: Settings) -> Container:
    """A new container configured from `settings` (it builds nothing yet)."""
    container = Container()
    container.config.from_dict(settings.container_config())
    return container
