"""The schema is created and upgraded by the migrations shipped in the package."""

from __future__ import annotations

import ast
import multiprocessing
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from multiprocessing.process import BaseProcess
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
from analytics.adapters.sqlalchemy.mapping import log_row
from analytics.adapters.sqlalchemy.schema import MIGRATIONS, current_revision
from analytics.domain.log_filter import LogFilter, LogPage
from analytics.domain.logs import RequestLog
from tests.builders import request_log
from tests.contract.backends import postgres_schema_url, require_postgres_url
from tests.integration.conftest import SQL_BACKENDS
from tests.waiting import eventually

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


def imported_modules(migration: Path) -> set[str]:
    tree = ast.parse(migration.read_text(), filename=str(migration))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module is not None:
            names.add(node.module)
    return names


def test_migrations_import_nothing_of_the_package_they_migrate() -> None:
    """A migration must keep doing what it did: the adapter's tables and aggregation code
    change with the newest schema, so a migration spells out what it uses."""
    migrations = sorted((MIGRATIONS / "versions").glob("*.py"))
    assert len(migrations) >= 6
    imports = {path.name: sorted(imported_modules(path)) for path in migrations}
    from_package = {
        name: [module for module in modules if module.split(".")[0] == "analytics"]
        for name, modules in imports.items()
    }
    assert {name: modules for name, modules in from_package.items() if modules} == {}


@contextmanager
def empty_database(backend: str, path: Path) -> Iterator[sa.Engine]:
    """An engine on a new, empty SQLite file at `path` or a new PostgreSQL schema."""
    if backend == "sqlite":
        engine = create_database_engine(f"sqlite:///{path}")
        try:
            yield engine
        finally:
            engine.dispose()
        return
    with postgres_schema_url(require_postgres_url()) as url:
        engine = create_database_engine(url)
        try:
            yield engine
        finally:
            engine.dispose()


def history(count: int) -> list[RequestLog]:
    """Logs over a week, a few of them before 1970 (negative times: buckets by floor),
    in every dimension the rollups group by, null IPs included."""
    start = datetime(2024, 3, 28, 21, 17, 3, tzinfo=UTC)
    before_1970 = datetime(1969, 12, 31, 22, 59, 59, tzinfo=UTC)
    return [
        RequestLog(
            created_at=(before_1970 if i % 50 == 0 else start)
            + timedelta(seconds=(i * 7919) % 600_000, microseconds=i),
            method=("GET", "GET", "POST", "DELETE", "PATCH")[i % 5],
            endpoint=("/api/users", "/api/orders/{id}", "/ünïcode", "/x" * 300)[(i * 7) % 4],
            ip=None if i % 9 == 0 else f"10.0.{i % 3}.{(i * 13) % 17}",
            process_time_us=(i * 7727) % 2_000_000,
            status_code=(200, 200, 201, 404, 500)[i % 5],
        )
        for i in range(count)
    ]


ROLLUP_TABLES = (
    "rollup_traffic",
    "rollup_totals",
    "rollup_latency",
    "rollup_latency_coarse",
    "rollup_ips",
    "owner_spans",
)


def rollup_tables(engine: sa.Engine) -> dict[str, list[tuple]]:
    with engine.connect() as connection:
        return {
            name: sorted(tuple(row) for row in connection.execute(sa.text(f"SELECT * FROM {name}")))
            for name in ROLLUP_TABLES
        }


@pytest.mark.parametrize("backend", SQL_BACKENDS)
def test_upgrading_raw_rows_of_revision_0001_gives_the_rollups_ingest_writes(
    backend: str, tmp_path: Path
) -> None:
    """The backfilling migrations (0002, 0003, 0007) turn the raw rows of a schema-0001
    database into row for row what today's ingest writes for the same logs."""
    logs = {"owner-a": history(1500), "owner-b": history(200)[50:]}
    with (
        empty_database(backend, tmp_path / "old.db") as old,
        empty_database(backend, tmp_path / "fresh.db") as fresh,
    ):
        upgrade_schema(old, "0001")
        rows = [log_row(owner, log) for owner, owned in logs.items() for log in owned]
        raw_logs = sa.table("request_logs", *(sa.column(name) for name in rows[0]))
        with old.begin() as connection:  # as the schema-0001 adapter stored them
            connection.execute(sa.insert(raw_logs), rows)
        upgrade_schema(old)

        upgrade_schema(fresh)
        repository = SqlAlchemyLogRepository(fresh)
        for owner, owned in logs.items():
            for start in range(0, len(owned), 400):
                repository.add_many(owner, owned[start : start + 400])

        upgraded, ingested = rollup_tables(old), rollup_tables(fresh)
    assert all(ingested.values())
    assert upgraded == ingested


WAIT_SECONDS = 60  # only how long to wait before failing; nothing is timed


def upgrade_alone(url: str) -> None:
    engine = create_database_engine(url)
    try:
        upgrade_schema(engine)
    finally:
        engine.dispose()


def start_upgrade(url: str, application_name: str) -> BaseProcess:
    """upgrade_schema in a process of its own (a process migrating holds a lock that its
    other threads wait for); its sessions carry `application_name`."""
    context = multiprocessing.get_context("spawn")
    named = f"{url}&application_name={application_name}"
    child = context.Process(target=upgrade_alone, args=(named,))
    child.start()
    return child


def lock_awaited(observer: sa.Engine, application_name: str) -> str | None:
    """The kind of lock ('advisory', 'relation') a session named so waits for, if any."""
    waiting = sa.text(
        "SELECT wait_event FROM pg_stat_activity"
        " WHERE application_name = :name AND wait_event_type = 'Lock'"
    )
    # A new transaction each time: one transaction sees one snapshot of pg_stat_activity.
    with observer.connect() as connection:
        return connection.execute(waiting, {"name": application_name}).scalar()


@contextmanager
def table_locked(url: str, table: str) -> Iterator[None]:
    """`table` locked against every reader until the block ends."""
    engine = create_database_engine(url)
    try:
        with engine.begin() as connection:
            connection.exec_driver_sql(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE")
            yield
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_upgrades_of_one_postgres_schema_queue_and_other_schemas_do_not_wait() -> None:
    """The migration lock is one per schema: servers of one schema take turns, a server of
    another schema of the same database migrates meanwhile."""
    base = require_postgres_url()
    names = {role: f"upgrade-{role}-{uuid.uuid4().hex[:8]}" for role in ("a1", "a2", "b")}
    observer = create_database_engine(base)
    children: list[BaseProcess] = []
    with postgres_schema_url(base) as url_a, postgres_schema_url(base) as url_b:
        upgrade_alone(url_a)
        try:
            # The first upgrade of schema A takes A's migration lock, then waits to read
            # alembic_version, so it holds the migration lock until the table is unlocked.
            with table_locked(url_a, "alembic_version"):
                children.append(start_upgrade(url_a, names["a1"]))
                eventually(
                    lambda: lock_awaited(observer, names["a1"]) == "relation",
                    "a1 waits",
                    WAIT_SECONDS,
                )

                other = start_upgrade(url_b, names["b"])
                children.append(other)
                eventually(
                    lambda: not other.is_alive() or lock_awaited(observer, names["b"]) is not None,
                    "schema B upgraded or waiting",
                    WAIT_SECONDS,
                )
                assert lock_awaited(observer, names["b"]) is None
                other.join()
                assert other.exitcode == 0

                children.append(start_upgrade(url_a, names["a2"]))
                eventually(
                    lambda: lock_awaited(observer, names["a2"]) == "advisory",
                    "the second upgrade of schema A waits for the first",
                    WAIT_SECONDS,
                )
            for child in children:
                child.join(timeout=WAIT_SECONDS)
            assert [child.exitcode for child in children] == [0, 0, 0]
        finally:
            for child in children:
                if child.is_alive():
                    child.kill()
                    child.join()
            observer.dispose()
        for url in (url_a, url_b):
            engine = create_database_engine(url)
            try:
                assert current_revision(engine) == head_revision()
            finally:
                engine.dispose()
