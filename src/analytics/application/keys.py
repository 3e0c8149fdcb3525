"""Use cases about keys: issue one, and tell who presents one."""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass

from analytics.application.errors import UnknownKey
from analytics.application.ports import Clock, KeyHasher, KeyRepository
from analytics.domain.keys import ApiKey, KeyScope, format_api_key, parse_key_id

KEY_ID_BYTES = 6
SECRET_BYTES = 24  # 192 bits


@dataclass(frozen=True, slots=True)
class IssuedKey:
    """A new key: `api_key` is shown once and never stored."""

    key_id: str
    api_key: str
    scope: KeyScope


class GenerateKey:
    def __init__(self, keys: KeyRepository, hasher: KeyHasher, clock: Clock) -> None:
        self._keys = keys
        self._hasher = hasher
        self._clock = clock

    def execute(self, scope: KeyScope = KeyScope.FULL, owner: ApiKey | None = None) -> IssuedKey:
        key_id = secrets.token_hex(KEY_ID_BYTES)
        api_key = format_api_key(key_id, secrets.token_urlsafe(SECRET_BYTES))
        self._keys.add(
            ApiKey(
                key_id=key_id,
                key_hash=self._hasher.hash(api_key),
                scope=scope,
                created_at=self._clock.now(),
                owner_id=owner.owner_id if owner else key_id,
            )
        )
        return IssuedKey(key_id=key_id, api_key=api_key, scope=scope)


class AuthenticateKey:
    def __init__(self, keys: KeyRepository, hasher: KeyHasher) -> None:
        self._keys = keys
        self._hasher = hasher

    def execute(self, api_key: str | None) -> ApiKey:
        """The stored key matching `api_key`; raises UnknownKey otherwise."""
        key_id = parse_key_id(api_key) if api_key else None
        stored = self._keys.get(key_id) if key_id else None
        # Hash even when nothing matched, so timing does not tell which case it was.
        presented_hash = self._hasher.hash(api_key or "")
        if stored is None or stored.revoked:
            raise UnknownKey("missing or unknown API key")
        if not hmac.compare_digest(stored.key_hash, presented_hash):
            raise UnknownKey("missing or unknown API key")
        return stored
