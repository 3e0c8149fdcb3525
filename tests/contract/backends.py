"""The storage backends every contract test runs against, built for tests.

SQLite lives in a file under the test's tmp_path. PostgreSQL runs when
ANALYTICS_TEST_POSTGRES_URL is set; each use gets a schema of its own (dropped afterwards),
so tests neither see each other's rows nor touch tables other suites use.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import sqlalchemy as sa

from analytics.adapters.in_memory import InMemoryKeyRepository, InMemoryLogRepository
from analytics.adapters.sqlalchemy import (
    SqlAlchemyKeyRepository,
    SqlAlchemyLogEraser,
    SqlAlchemyLogRepository,
    SqlAlchemyRetention,
    create_database_engine,
    upgrade_schema,
)

POSTGRES_URL_VARIABLE = "ANALYTICS_TEST_POSTGRES_URL"
POSTGRES_SKIP_REASON = f"PostgreSQL tests need {POSTGRES_URL_VARIABLE} (e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test)"
BACKEND_NAMES = ("memory", "sqlite", "postgresql")


@dataclass(frozen=True)
class Backend:
    name: str
    logs: Any  # LogRepository & StorageHealth
    keys: Any  # KeyRepository
    engine: sa.Engine | None = None
    expiry: Any = None  # RawLogRetention & BatchIdExpiry
    eraser: Any = None  # LogEraser


def new_owner() -> str:
    """An owner id no other test or example uses."""
    return f"owner-{uuid.uuid4().hex[:12]}"


def postgres_url() -> str | None:
    return os.environ.get(POSTGRES_URL_VARIABLE) or None


def require_postgres_url() -> str:
    url = postgres_url()
    if url is None:
        pytest.skip(POSTGRES_SKIP_REASON)
    return url


def backend_params() -> list[Any]:
    """pytest params for every backend; PostgreSQL's carries the `postgres` mark."""
    return [
        pytest.param(name, marks=[pytest.mark.postgres] if name == "postgresql" else [])
        for name in BACKEND_NAMES
    ]


@contextmanager
def postgres_schema_url(base_url: str) -> Iterator[str]:
    """A URL whose connections work in a new, empty schema; the schema is dropped after."""
    schema = f"test_{uuid.uuid4().hex[:16]}"
    admin = create_database_engine(base_url)
    try:
        with admin.begin() as connection:
            connection.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
        separator = "&" if "?" in base_url else "?"
        yield f"{base_url}{separator}options={quote(f'-csearch_path={schema}')}"
    finally:
        with admin.begin() as connection:
            connection.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        admin.dispose()


@contextmanager
def migrated_engine(url: str) -> Iterator[sa.Engine]:
    engine = create_database_engine(url)
    try:
        upgrade_schema(engine)
        yield engine
    finally:
        engine.dispose()


@contextmanager
def open_backend(name: str, directory: Path) -> Iterator[Backend]:
    """A fresh, empty backend of kind `name`."""
    if name == "memory":
        logs = InMemoryLogRepository()
        yield Backend(name, logs, InMemoryKeyRepository(), expiry=logs, eraser=logs)
    elif name == "sqlite":
        with migrated_engine(f"sqlite:///{directory / 'analytics.db'}") as engine:
            yield _sql_backend(name, engine)
    elif name == "postgresql":
        with postgres_schema_url(require_postgres_url()) as url, migrated_engine(url) as engine:
            yield _sql_backend(name, engine)
    else:
        raise ValueError(name)


def _sql_backend(name: str, engine: sa.Engine) -> Backend:
    return Backend(
        name,
        SqlAlchemyLogRepository(engine),
        SqlAlchemyKeyRepository(engine),
        engine,
        expiry=SqlAlchemyRetention(engine),
        eraser=SqlAlchemyLogEraser(engine),
    )
