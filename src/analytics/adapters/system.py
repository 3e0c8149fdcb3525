"""The real clock and key hasher."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class Sha256KeyHasher:
    """SHA-256 suffices: keys are 192 random bits, so no dictionary or brute force applies."""

    def hash(self, api_key: str) -> str:
        return hashlib.sha256(api_key.encode()).hexdigest()
