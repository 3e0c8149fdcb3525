"""API keys: who may send logs and who may read them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

KEY_PREFIX = "ak"


class KeyScope(StrEnum):
    FULL = "full"  # may send logs and read them
    INGEST = "ingest"  # may only send logs: the key an app embeds


@dataclass(frozen=True, slots=True)
class ApiKey:
    """A key as stored: its public id and the hash of its secret text, never the text."""

    key_id: str
    key_hash: str
    scope: KeyScope
    created_at: datetime
    owner_id: str  # the key_id of the full key whose data this key reaches (itself if full)
    revoked: bool = False

    @property
    def can_read(self) -> bool:
        return self.scope is KeyScope.FULL

    def may_revoke(self, other: ApiKey) -> bool:
        """A full key may revoke itself and the ingest keys it issued; nothing else."""
        return self.scope is KeyScope.FULL and other.owner_id == self.owner_id


def format_api_key(key_id: str, secret: str) -> str:
    return f"{KEY_PREFIX}_{key_id}_{secret}"


def parse_key_id(api_key: str) -> str | None:
    """The key id inside a presented key, or None if the text is not shaped like our keys."""
    prefix, _, rest = api_key.partition("_")
    key_id, _, secret = rest.partition("_")
    if prefix != KEY_PREFIX or not key_id or not secret:
        return None
    return key_id
