"""Batch ids: how a retried batch is recognised and answered without storing it twice."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

# A client middleware retries a batch whose acknowledgement it lost for minutes, at most
# hours; a day leaves a wide margin. Ids older than this are forgotten in the background.
BATCH_IDS_KEPT_FOR = timedelta(hours=24)


@dataclass(frozen=True, slots=True)
class BatchReceipt:
    """A batch's client-given id, and when the server received it.

    Batch ids are scoped by owner: the same id from another owner is another batch.
    """

    batch_id: UUID
    received_at: datetime  # timezone-aware, UTC
