"""One `POST /track/batch` request: its logs, its id and its body, made once for every attempt."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from client_middleware.encoding import batch_body
from client_middleware.transport import Answer

BATCH_PATH = "/track/batch"


def batch_headers(api_key: str) -> dict[str, str]:
    """The headers of every batch request, whoever sends it."""
    return {"X-API-Key": api_key, "Content-Type": "application/json"}


@dataclass(slots=True, eq=False)  # compared by identity: whoever removes it owns it
class Batch:
    logs: list[str]  # JSON objects
    batch_id: str
    dropped: int
    body: bytes


def new_batch(logs: list[str], dropped: int) -> Batch:
    """A batch with an id of its own; every attempt sends this body, so this id."""
    batch_id = str(uuid.uuid4())
    return Batch(logs, batch_id, dropped, batch_body(logs, batch_id, dropped))


@dataclass(frozen=True, slots=True)
class Attempted:
    """A batch the app's loop sent once, and the answer it got, or why none came."""

    batch: Batch
    answer: Answer | str
