"""The answer to POST /generate_key."""

from __future__ import annotations

from pydantic import BaseModel, Field


class NewKey(BaseModel):
    api_key: str = Field(
        description=(
            "The new API key. Send it as the `X-API-Key` header. It is shown only this once: "
            "the server keeps only its hash."
        ),
        examples=["ak_3f2a9c1b7d4e_h7Jx..."],
    )
    key_id: str = Field(description="The key's public id (the part after `ak_`); not a secret.")
