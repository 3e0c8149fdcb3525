"""API keys in SQL."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.engine import Engine

from analytics.adapters.sqlalchemy.engine import read_transaction, write_transaction
from analytics.adapters.sqlalchemy.mapping import from_epoch_us, to_epoch_us
from analytics.adapters.sqlalchemy.tables import api_keys
from analytics.adapters.sqlalchemy.upsert import upsert
from analytics.domain.keys import ApiKey, KeyScope


class SqlAlchemyKeyRepository:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def add(self, key: ApiKey) -> None:
        """Store `key`, replacing a stored key with the same id (as revoking one does)."""
        row = {
            "key_id": key.key_id,
            "key_hash": key.key_hash,
            "scope": key.scope.value,
            "created_us": to_epoch_us(key.created_at),
            "owner_id": key.owner_id,
            "revoked": key.revoked,
        }
        statement = upsert(
            self._engine,
            api_keys,
            key_columns=["key_id"],
            replace_columns=[name for name in row if name != "key_id"],
        )
        with write_transaction(self._engine) as connection:
            connection.execute(statement, [row])

    def revoke(self, key_id: str) -> None:
        with write_transaction(self._engine) as connection:
            connection.execute(
                update(api_keys).where(api_keys.c.key_id == key_id).values(revoked=True)
            )

    def revoke_owned_by(self, owner_id: str) -> None:
        with write_transaction(self._engine) as connection:
            connection.execute(
                update(api_keys).where(api_keys.c.owner_id == owner_id).values(revoked=True)
            )

    def get(self, key_id: str) -> ApiKey | None:
        with read_transaction(self._engine) as connection:
            row = (
                connection.execute(select(api_keys).where(api_keys.c.key_id == key_id))
                .mappings()
                .first()
            )
        if row is None:
            return None
        return ApiKey(
            key_id=row["key_id"],
            key_hash=row["key_hash"],
            scope=KeyScope(row["scope"]),
            created_at=from_epoch_us(row["created_us"]),
            owner_id=row["owner_id"],
            revoked=bool(row["revoked"]),
        )
