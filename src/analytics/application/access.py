"""Use cases about access: a full key issues write-only ingest keys, and revokes keys."""

from __future__ import annotations

from analytics.application.errors import KeyNotFound
from analytics.application.keys import GenerateKey, IssuedKey
from analytics.application.list_raw_logs import require_read
from analytics.application.ports import KeyRepository
from analytics.domain.keys import ApiKey, KeyScope


class IssueIngestKey:
    """A new ingest key whose logs land in the caller's data; only a full key may ask."""

    def __init__(self, generate: GenerateKey) -> None:
        self._generate = generate

    def execute(self, caller: ApiKey) -> IssuedKey:
        # An ingest key must not mint more keys: the key embedded in an app stays write-only.
        require_read(caller)
        return self._generate.execute(scope=KeyScope.INGEST, owner=caller)


class RevokeKey:
    def __init__(self, keys: KeyRepository) -> None:
        self._keys = keys

    def execute(self, caller: ApiKey, key_id: str) -> None:
        """Revoke `key_id` if `caller` may (itself or its ingest keys); KeyNotFound otherwise.

        Another owner's key is answered exactly like a missing one, so a caller cannot probe
        which key ids exist. Revoking a full key also revokes the ingest keys it issued:
        nobody could read what they send any more.
        """
        require_read(caller)
        target = self._keys.get(key_id)
        if target is None or not caller.may_revoke(target):
            raise KeyNotFound("no such key among the keys you may revoke")
        if target.scope is KeyScope.FULL:
            self._keys.revoke_owned_by(target.owner_id)  # itself included: it owns itself
        else:
            self._keys.revoke(target.key_id)
