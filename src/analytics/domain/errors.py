"""Errors the domain raises; the HTTP layer maps each to one status code."""


class DomainError(Exception):
    """Base class for every error a use case may raise on purpose."""


class InvalidQuery(DomainError):
    """A query that is well-formed but asks for something impossible (e.g. start after end)."""
