"""The answer to POST /keys/ingest."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class NewIngestKey(BaseModel):
    key_id: str = Field(description="The key's public id (the part after `ak_`); not a secret.")
    api_key: str = Field(
        description=(
            "The new write-only key, for an app's middleware: it may POST /track and "
            "/track/batch into your data, never read. Shown only this once."
        ),
        examples=["ak_3f2a9c1b7d4e_h7Jx..."],
    )
    scope: Literal["ingest"] = Field(description="Always `ingest`: the key may only send logs.")
