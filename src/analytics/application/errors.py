"""Errors use cases raise; the HTTP layer maps each to one status code."""

from analytics.domain.errors import DomainError


class UnknownKey(DomainError):
    """No key was presented, or it is not one of ours, or it was revoked (401)."""


class ReadNotAllowed(DomainError):
    """The key may send logs but not read them (403)."""


class KeyNotFound(DomainError):
    """No key with that id is the caller's to manage (404): another owner's key looks absent."""


class StorageUnavailable(DomainError):
    """Storage cannot be reached or is full; the client should retry later (503)."""


class RateLimited(DomainError):
    """The caller sent more requests than its rate limit allows (429)."""

    def __init__(self, message: str, retry_after_s: float) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s
