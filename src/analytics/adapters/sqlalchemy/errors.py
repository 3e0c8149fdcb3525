"""Which database failures mean "storage unavailable" rather than a bug."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import exc

from analytics.application.errors import StorageUnavailable

# Unreachable server, dropped connection, full disk, lock wait exhausted, pool exhausted.
# Everything else (constraint violations, programming errors) is a bug and stays visible.
_UNAVAILABLE: tuple[type[Exception], ...] = (
    exc.OperationalError,
    exc.InterfaceError,
    exc.DisconnectionError,
    exc.TimeoutError,
)


@contextmanager
def storage_errors() -> Iterator[None]:
    """Re-raise the database's availability failures as `StorageUnavailable`."""
    try:
        yield
    except _UNAVAILABLE as error:
        raise StorageUnavailable(f"storage unavailable: {_first_line(error)}") from error
    except exc.DBAPIError as error:
        if error.connection_invalidated:
            raise StorageUnavailable(f"storage unavailable: {_first_line(error)}") from error
        raise


def _first_line(error: Exception) -> str:
    return str(error).splitlines()[0] if str(error) else type(error).__name__
