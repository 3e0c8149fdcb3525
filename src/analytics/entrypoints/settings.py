"""The service's settings, read from `ANALYTICS_*` environment variables (or a `.env` file),
and the container they configure."""

from __future__ import annotations

from typing import Any

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from analytics.containers import Container

DEFAULT_DATABASE_URL = "sqlite:///./analytics.db"
DEFAULT_MAX_BODY_BYTES = 2 * 1024 * 1024


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

    @field_validator("admin_token", mode="before")
    @classmethod
    def _empty_token_is_no_token(cls, value: Any) -> Any:
        return None if value == "" else value

    def container_config(self) -> dict[str, Any]:
        """The options the composition root (analytics.containers.Container) takes."""
        return {"database_url": self.database_url}


def container_for(settings: Settings) -> Container:
    """A new container configured from `settings` (it builds nothing yet)."""
    container = Container()
    container.config.from_dict(settings.container_config())
    return container
