"""The schema is created and upgraded by the migrations shipped in the package."""

from __future__ import annotations

import multiprocessing
from multiprocessing.synchronize import Barrier as BarrierType
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.config import Config
from alembic.script import ScriptDirectory

from analytics.adapters.sqlalchemy import (
    SqlAlchemyLogRepository,
    create_database_engine,
    upgrade_schema,
)
from analytics.adapters.sqlalchemy.schema import MIGRATIONS, current_revision
from analytics.domain.log_filter import LogFilter, LogPage
from tests.builders import request_log
from tests.contract.backends import postgres_schema_url, require_postgres_url

EXPECTED_TABLES = {"alembic_version", "api_keys", "request_logs"}


def head_revision() -> str:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    head = ScriptDirectory.from_config(config).get_current_head()
    assert head is not None
    return head


def schema_snapshot(engine: sa.Engine) -> dict[str, list[str]]:
    inspector = sa.inspect(engine)
    return {
        table: sorted(
            [column["name"] for column in inspector.get_columns(table)]
            + [f"index:{index['name']}" for index in inspector.get_indexes(table)]
        )
        for table in inspector.get_table_names()
    }


def test_upgrade_creates_the_schema_and_a_second_upgrade_changes_nothing(tmp_path: Path) -> None:
    engine = create_database_engine(f"sqlite:///{tmp_path / 'fresh.db'}")
    try:
        assert current_revision(engine) is None
        upgrade_schema(engine)
        assert current_revision(engine) == head_revision()
        assert set(sa.inspect(engine).get_table_names()) >= EXPECTED_TABLES
        SqlAlchemyLogRepository(engine).add_many("owner", [request_log()])
        before = schema_snapshot(engine)

        upgrade_schema(engine)

        assert schema_snapshot(engine) == before
        assert current_revision(engine) == head_revision()
        rows = SqlAlchemyLogRepository(engine).list("owner", LogFilter(), LogPage())
        assert [row.log for row in rows] == [request_log()]
    finally:
        engine.dispose()


def test_a_relative_sqlite_path_in_a_missing_directory_is_created(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    engine = create_database_engine("sqlite:///./data/nested/analytics.db")
    try:
        upgrade_schema(engine)
    finally:
        engine.dispose()
    assert (tmp_path / "data" / "nested" / "analytics.db").is_file()


def upgrade_in_child(url: str, start: BarrierType) -> None:
    engine = create_database_engine(url)
    try:
        start.wait()
        upgrade_schema(engine)
    finally:
        engine.dispose()


def upgrade_concurrently(url: str, processes: int = 6) -> list[int | None]:
    """Run upgrade_schema from several processes at once; their exit codes."""
    context = multiprocessing.get_context("spawn")
    start = context.Barrier(processes)
    children = [
        context.Process(target=upgrade_in_child, args=(url, start)) for _ in range(processes)
    ]
    for child in children:
        child.start()
    for child in children:
        child.join(timeout=120)
        if child.is_alive():
            child.kill()
            child.join()
    return [child.exitcode for child in children]


def test_servers_starting_together_on_one_sqlite_file_upgrade_it_once(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    assert upgrade_concurrently(url) == [0] * 6
    engine = create_database_engine(url)
    try:
        assert current_revision(engine) == head_revision()
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_postgres_upgrade_is_idempotent() -> None:
    with postgres_schema_url(require_postgres_url()) as url:
        engine = create_database_engine(url)
        try:
            upgrade_schema(engine)
            before = schema_snapshot(engine)
            upgrade_schema(engine)
            assert schema_snapshot(engine) == before
            assert set(before) >= EXPECTED_TABLES
            assert current_revision(engine) == head_revision()
        finally:
            engine.dispose()


@pytest.mark.postgres
def test_servers_starting_together_on_one_postgres_upgrade_it_once() -> None:
    with postgres_schema_url(require_postgres_url()) as url:
        assert upgrade_concurrently(url) == [0] * 6
        engine = create_database_engine(url)
        try:
            assert current_revision(engine) == head_revision()
            with engine.connect() as connection:
                versions = connection.execute(sa.text("SELECT count(*) FROM alembic_version"))
                assert versions.scalar_one() == 1
        finally:
            engine.dispose()
