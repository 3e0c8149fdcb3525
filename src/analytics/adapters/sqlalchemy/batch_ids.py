"""Batch ids in SQL: recorded in a batch's own transaction, so a retry is seen as one.

The primary key (owner_id, batch_id) makes the record unique. A batch first claims its id
with `INSERT ... ON CONFLICT DO NOTHING`: on PostgreSQL a second transaction claiming the
same id waits on the first's uncommitted key, then finds it taken (first committed) or
takes it (first rolled back); on SQLite writers run one at a time anyway. Whoever finds
the id taken stores nothing and answers the count stored the first time.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from analytics.adapters.sqlalchemy.mapping import to_epoch_us
from analytics.adapters.sqlalchemy.tables import metadata
from analytics.domain.batches import BatchReceipt

# Created by migration 0004.
batch_ids = sa.Table(
    "batch_ids",
    metadata,
    sa.Column("owner_id", sa.String(64), primary_key=True),
    sa.Column("batch_id", sa.String(36), primary_key=True),  # the UUID's canonical text
    sa.Column("accepted", sa.Integer, nullable=False),  # how many logs the batch stored
    sa.Column("received_us", sa.BigInteger, nullable=False),
)
# Expiry deletes the oldest ids first.
sa.Index("ix_batch_ids_received", batch_ids.c.received_us)


def claim_batch_id(
    connection: Connection, owner_id: str, receipt: BatchReceipt, accepted: int
) -> int | None:
    """Record the batch id in the caller's transaction: None if it is new, else the count
    the batch with that id stored before (the caller then stores nothing)."""
    batch_id = str(receipt.batch_id)
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    claim = (
        dialect.insert(batch_ids)
        .values(
            owner_id=owner_id,
            batch_id=batch_id,
            accepted=accepted,
            received_us=to_epoch_us(receipt.received_at),
        )
        .on_conflict_do_nothing(index_elements=["owner_id", "batch_id"])
        .returning(batch_ids.c.batch_id)  # a row only when this insert took the id
    )
    if connection.execute(claim).first() is not None:
        return None
    earlier = connection.execute(
        sa.select(batch_ids.c.accepted).where(
            batch_ids.c.owner_id == owner_id, batch_ids.c.batch_id == batch_id
        )
    ).scalar_one_or_none()
    # Gone between the two statements: expiry forgot it just now, so it was over a day old.
    return 0 if earlier is None else int(earlier)
