"""The `analytics` command: serve, generate-key, db upgrade, demo."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from analytics.domain.dashboard import DashboardQuery
from analytics.domain.log_filter import LogFilter, LogPage
from analytics.entrypoints import cli
from analytics.entrypoints.demo_traffic import ROUTES, synthetic_day
from analytics.entrypoints.http.app import FACTORY
from analytics.entrypoints.settings import Settings, container_for
from tests.e2e.server import analytics_command, clean_environment

API_KEY = re.compile(r"\bak_[0-9a-f]+_[A-Za-z0-9_-]+")
TEMPLATES = {route.template for route in ROUTES}


@pytest.fixture
def runner(monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    # `serve` exports the URL for its workers; monkeypatch restores the environment after.
    for name in ("ANALYTICS_DATABASE_URL", "ANALYTICS_ADMIN_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    return CliRunner()


def tables(database_url: str) -> set[str]:
    engine = sa.create_engine(database_url)
    try:
        return set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_help_lists_every_command(runner: CliRunner) -> None:
    result = runner.invoke(cli.main, ["--help"])

    assert result.exit_code == 0
    for command in ("serve", "generate-key", "db", "demo"):
        assert command in result.output


def test_generate_key_prints_a_key_that_the_server_knows(
    runner: CliRunner, sqlite_url: str
) -> None:
    result = runner.invoke(cli.main, ["generate-key", "--database-url", sqlite_url])

    assert result.exit_code == 0, result.output
    [api_key] = API_KEY.findall(result.output)
    container = container_for(Settings(database_url=sqlite_url))
    try:
        assert container.authenticate_key().execute(api_key).key_id in api_key
    finally:
        container.release_storage()


def test_generate_key_reads_the_database_url_from_the_environment(
    runner: CliRunner, sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANALYTICS_DATABASE_URL", sqlite_url)

    result = runner.invoke(cli.main, ["generate-key"])

    assert result.exit_code == 0, result.output
    assert "api_keys" in tables(sqlite_url)


def test_db_upgrade_creates_the_schema_on_sqlite(runner: CliRunner, sqlite_url: str) -> None:
    result = runner.invoke(cli.main, ["db", "upgrade", "--database-url", sqlite_url])

    assert result.exit_code == 0, result.output
    assert {"api_keys", "request_logs"} <= tables(sqlite_url)
    again = runner.invoke(cli.main, ["db", "upgrade", "--database-url", sqlite_url])
    assert again.exit_code == 0, again.output


@pytest.mark.postgres
def test_db_upgrade_creates_the_schema_on_postgresql(runner: CliRunner, postgres_url: str) -> None:
    result = runner.invoke(cli.main, ["db", "upgrade", "--database-url", postgres_url])

    assert result.exit_code == 0, result.output
    assert {"api_keys", "request_logs"} <= tables(postgres_url)


def test_an_unsupported_database_url_is_a_usage_error(runner: CliRunner) -> None:
    result = runner.invoke(cli.main, ["db", "upgrade", "--database-url", "mysql://u@h/d"])

    assert result.exit_code == 2
    assert "unsupported database URL" in result.output


def test_an_unreachable_database_is_a_clear_error(runner: CliRunner) -> None:
    closed_port = "postgresql+psycopg://postgres@127.0.0.1:1/test?connect_timeout=2"

    result = runner.invoke(cli.main, ["generate-key", "--database-url", closed_port])

    assert result.exit_code == 1
    assert "storage unavailable" in result.output
    assert "Traceback" not in result.output


def test_demo_loads_a_day_of_traffic_under_a_new_key(runner: CliRunner, sqlite_url: str) -> None:
    result = runner.invoke(cli.main, ["demo", "--database-url", sqlite_url, "--requests", "3000"])

    assert result.exit_code == 0, result.output
    [api_key] = set(API_KEY.findall(result.output))
    container = container_for(Settings(database_url=sqlite_url))
    try:
        key = container.authenticate_key().execute(api_key)
        dashboard = container.build_dashboard().execute(key, DashboardQuery(top=100))
        logs = container.log_repository().list(key.owner_id, LogFilter(), LogPage(limit=1000))
    finally:
        container.release_storage()

    summary = dashboard.summary
    assert summary.total_requests == 3000
    assert len(dashboard.endpoint_stats) >= len(TEMPLATES) - 1
    assert summary.unique_ips >= 50
    assert 0.5 <= summary.error_rate <= 10
    assert len(set(dashboard.method_usage)) >= 4
    assert dashboard.granularity == "hour"
    now = datetime.now(UTC)
    assert all(now - timedelta(days=1, minutes=5) <= row.log.created_at <= now for row in logs)


def test_the_demo_days_popularity_is_skewed_and_latencies_vary() -> None:
    logs = list(synthetic_day(datetime(2024, 2, 7, tzinfo=UTC), requests=5000, seed=1))

    by_route: dict[str, int] = {}
    for log in logs:
        by_route[log.endpoint] = by_route.get(log.endpoint, 0) + 1
    counts = sorted(by_route.values(), reverse=True)
    latencies = sorted(log.process_time_us for log in logs)

    assert len(counts) >= len(TEMPLATES) - 1
    assert counts[0] > 5 * counts[-1]  # Zipf-like: the top route dwarfs the tail
    assert latencies[len(latencies) // 2] * 5 < latencies[int(len(latencies) * 0.99)]
    assert [log.created_at for log in logs] == sorted(log.created_at for log in logs)


def test_the_same_seed_gives_the_same_day() -> None:
    end = datetime(2024, 2, 7, tzinfo=UTC)

    assert list(synthetic_day(end, 200, seed=5)) == list(synthetic_day(end, 200, seed=5))
    assert list(synthetic_day(end, 200, seed=5)) != list(synthetic_day(end, 200, seed=6))


@pytest.fixture
def uvicorn_calls(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[dict[str, Any]]]:
    calls: list[dict[str, Any]] = []

    def fake_run(app: str, **options: Any) -> None:
        calls.append({"app": app, **options})

    monkeypatch.setattr(cli.uvicorn, "run", fake_run)
    yield calls


def test_serve_migrates_then_runs_uvicorn_with_the_factory(
    runner: CliRunner, sqlite_url: str, uvicorn_calls: list[dict[str, Any]]
) -> None:
    result = runner.invoke(
        cli.main,
        ["serve", "--port", "8123", "--workers", "3", "--database-url", sqlite_url],
    )

    assert result.exit_code == 0, result.output
    [call] = uvicorn_calls
    assert call["app"] == FACTORY
    assert call["factory"] is True
    assert (call["host"], call["port"], call["workers"]) == ("127.0.0.1", 8123, 3)
    assert "analytics" in call["log_config"]["loggers"]
    assert {"api_keys", "request_logs"} <= tables(sqlite_url)
    # Workers are new processes: they find the URL in the environment.
    assert Settings().database_url == sqlite_url


def test_serve_refuses_memory_storage_with_several_workers(
    runner: CliRunner, uvicorn_calls: list[dict[str, Any]]
) -> None:
    result = runner.invoke(cli.main, ["serve", "--workers", "2", "--database-url", "memory://"])

    assert result.exit_code == 2
    assert "--workers 1" in result.output
    assert uvicorn_calls == []


def test_the_console_script_is_installed() -> None:
    result = subprocess.run(
        [*analytics_command(), "--version"],
        capture_output=True,
        text=True,
        timeout=60,
        env=clean_environment(),
        check=False,
    )

    assert result.returncode == 0, result.stderr
    assert "version" in result.stdout
