"""Bodies of error responses, as documented in the OpenAPI schema."""

from __future__ import annotations

from pydantic import BaseModel, Field


class ErrorMessage(BaseModel):
    detail: str = Field(description="What went wrong, in words.")


class FieldError(BaseModel):
    loc: list[str | int] = Field(
        description=(
            'Where the problem is: e.g. `["body", "logs", 3, "status_code"]` is the '
            'status_code of the fourth log of a batch; `["query", "limit"]` a query parameter.'
        )
    )
    msg: str = Field(description="What is wrong with it.")
    type: str = Field(description="A stable code for the kind of problem.")


class ValidationErrors(BaseModel):
    detail: list[FieldError] | str = Field(
        description="Each problem found, or one message for a query that cannot be answered."
    )
