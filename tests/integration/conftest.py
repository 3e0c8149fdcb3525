"""Fixtures of the SQL integration tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.contract.backends import (
    BACKEND_NAMES,
    migrated_engine,
    postgres_schema_url,
    require_postgres_url,
)

SQL_BACKENDS = [
    pytest.param(name, marks=[pytest.mark.postgres] if name == "postgresql" else [])
    for name in BACKEND_NAMES
    if name != "memory"
]


@pytest.fixture(params=SQL_BACKENDS)
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[sa.Engine]:
    """A migrated SQLite file, then a migrated PostgreSQL schema (when configured)."""
    if request.param == "sqlite":
        with migrated_engine(f"sqlite:///{tmp_path / 'analytics.db'}") as opened:
            yield opened
    else:
        with postgres_schema_url(require_postgres_url()) as url, migrated_engine(url) as opened:
            yield opened
