"""The composition root: storage chosen from the database URL, nothing built at import."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from dependency_injector.errors import Error as ContainerError

from analytics.adapters.in_memory import InMemoryKeyRepository, InMemoryLogRepository
from analytics.adapters.sqlalchemy import SqlAlchemyKeyRepository, SqlAlchemyLogRepository
from analytics.containers import (
    Container,
    UnsupportedDatabaseUrl,
    start_storage,
    storage_kind,
)
from analytics.entrypoints.settings import Settings, container_for


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        ("memory://", "memory"),
        ("sqlite:///./analytics.db", "sqlite"),
        ("sqlite+pysqlite:////tmp/a.db", "sqlite"),
        ("postgresql+psycopg://postgres@127.0.0.1:5432/test", "postgresql"),
        ("postgresql://u@h/d", "postgresql"),
        ("postgres://u@h/d", "postgresql"),
        ("SQLITE:///x.db", "sqlite"),
    ],
)
def test_the_storage_kind_comes_from_the_urls_scheme(url: str, kind: str) -> None:
    assert storage_kind(url) == kind


@pytest.mark.parametrize("url", ["mysql://u@h/d", "analytics.db", "", "memory"])
def test_an_unsupported_url_is_refused_with_the_choices(url: str) -> None:
    with pytest.raises(UnsupportedDatabaseUrl, match="memory://"):
        storage_kind(url)


def test_the_configuration_is_strict() -> None:
    with pytest.raises(ContainerError, match="database_url"):
        Container().log_repository()


def test_memory_storage_is_one_store_for_the_containers_life() -> None:
    container = container_for(Settings(database_url="memory://"))

    assert isinstance(container.log_repository(), InMemoryLogRepository)
    assert isinstance(container.key_repository(), InMemoryKeyRepository)
    assert container.log_repository() is container.log_repository()
    assert container.ingest_logs() is not container.ingest_logs()  # use cases: factories


def test_each_container_has_its_own_memory_store() -> None:
    first = container_for(Settings(database_url="memory://"))
    second = container_for(Settings(database_url="memory://"))

    assert first.log_repository() is not second.log_repository()


def test_sqlite_storage_is_migrated_at_start(sqlite_url: str) -> None:
    container = container_for(Settings(database_url=sqlite_url))
    try:
        start_storage(container)

        assert isinstance(container.log_repository(), SqlAlchemyLogRepository)
        assert isinstance(container.key_repository(), SqlAlchemyKeyRepository)
        assert container.check_health().execute() is True
        assert container.engine() is container.engine()
    finally:
        container.release_storage()


@pytest.mark.postgres
def test_postgresql_storage_is_migrated_at_start(postgres_url: str) -> None:
    container = container_for(Settings(database_url=postgres_url))
    try:
        start_storage(container)

        assert isinstance(container.log_repository(), SqlAlchemyLogRepository)
        assert container.engine().dialect.name == "postgresql"
        assert container.check_health().execute() is True
    finally:
        container.release_storage()


def test_importing_the_app_and_calling_the_factory_opens_no_database(tmp_path: Path) -> None:
    script = textwrap.dedent(
        """
        import analytics.entrypoints.cli
        from analytics.entrypoints.http.app import create_app
        create_app()
        """
    )
    environment = {"PATH": "/usr/bin:/bin", "ANALYTICS_DATABASE_URL": "sqlite:///./analytics.db"}

    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=tmp_path,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    assert list(tmp_path.iterdir()) == []
