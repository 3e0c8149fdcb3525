"""Fixtures shared by every suite: the database URLs a test can run against.

`database_url` is parametrized over the three storages: process memory, a SQLite file in
the test's tmp_path, and PostgreSQL when ANALYTICS_TEST_POSTGRES_URL is set (a schema of its
own per test, dropped afterwards; skipped with the reason otherwise).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.contract.backends import BACKEND_NAMES, postgres_schema_url, require_postgres_url

STORAGE_PARAMS = [
    pytest.param(name, marks=[pytest.mark.postgres] if name == "postgresql" else [])
    for name in BACKEND_NAMES
]


def database_url_for(storage: str, directory: Path) -> Iterator[str]:
    """A URL of an empty database of kind `storage` (memory, sqlite or postgresql)."""
    if storage == "memory":
        yield "memory://"
    elif storage == "sqlite":
        yield f"sqlite:///{directory / 'analytics.db'}"
    elif storage == "postgresql":
        with postgres_schema_url(require_postgres_url()) as url:
            yield url
    else:
        raise ValueError(storage)


@pytest.fixture(params=STORAGE_PARAMS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database per test, of each kind in turn."""
    yield from database_url_for(request.param, tmp_path)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'analytics.db'}"


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A PostgreSQL URL whose connections use a fresh schema (skipped without PostgreSQL)."""
    with postgres_schema_url(require_postgres_url()) as url:
        yield url
