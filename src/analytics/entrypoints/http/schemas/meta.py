"""The answers of GET / and GET /health."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class ServiceInfo(BaseModel):
    name: str = Field(description="The service's name.")
    version: str = Field(description="The service's version.")
    docs: str = Field(description="Where the API documentation is.")


class Health(BaseModel):
    status: Literal["ok", "unavailable"] = Field(
        description="`ok` when storage answers (200); `unavailable` otherwise (503)."
    )
