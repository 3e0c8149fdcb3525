"""The `analytics` command: serve the API, issue keys, migrate the database, load a demo."""

from __future__ import annotations

import copy
import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from itertools import islice
from typing import Any

import click
import uvicorn
from pydantic import ValidationError
from uvicorn.config import LOGGING_CONFIG

from analytics.application.errors import StorageUnavailable
from analytics.containers import MEMORY, Container, start_storage, storage_kind
from analytics.domain.logs import RequestLog
from analytics.entrypoints.demo_traffic import ROUTES, synthetic_day
from analytics.entrypoints.http.app import FACTORY
from analytics.entrypoints.http.schemas.logs import MAX_BATCH_SIZE
from analytics.entrypoints.settings import Settings, container_for

DATABASE_URL_VARIABLE = "ANALYTICS_DATABASE_URL"
DEMO_REQUESTS = 20_000
# A new worker answers uvicorn's health pings only once it has imported this package (a few
# seconds of CPU); on a busy host that outlasts uvicorn's 5 s default, and the supervisor
# would kill and respawn its workers forever.
WORKER_HEALTHCHECK_TIMEOUT_S = 60

database_url_option = click.option(
    "--database-url",
    default=None,
    metavar="URL",
    help=(
        "memory://, sqlite:///path/to/file.db or postgresql+psycopg://user@host/db "
        f"(default: ${DATABASE_URL_VARIABLE}, else sqlite:///./analytics.db)."
    ),
)


@click.group()
@click.version_option(package_name="fastapi-analytics")
def main() -> None:
    """Self-hostable API-usage analytics for FastAPI."""


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535))
@click.option(
    "--workers", default=1, show_default=True, type=click.IntRange(min=1), help="Processes."
)
@database_url_option
@click.option(
    "--log-level",
    default="info",
    show_default=True,
    type=click.Choice(["critical", "error", "warning", "info", "debug"]),
)
def serve(host: str, port: int, workers: int, database_url: str | None, log_level: str) -> None:
    """Run the HTTP API (migrating the database first)."""
    if database_url is not None:
        # Workers are separate processes that build the app from the environment.
        os.environ[DATABASE_URL_VARIABLE] = database_url
    settings = _settings(None)
    if workers > 1 and storage_kind(settings.database_url) == MEMORY:
        raise click.UsageError("memory:// keeps data inside one process: use --workers 1")
    # Migrate once here, so that workers starting together find the schema current.
    with _storage(settings):
        pass
    uvicorn.run(
        FACTORY,
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level=log_level,
        log_config=_log_config(log_level),
        # The app reads forwarded headers itself, and only from ANALYTICS_TRUSTED_PROXIES;
        # uvicorn's default would believe them from any local process.
        proxy_headers=False,
        timeout_worker_healthcheck=WORKER_HEALTHCHECK_TIMEOUT_S,
    )


@main.command("generate-key")
@database_url_option
def generate_key(database_url: str | None) -> None:
    """Issue a new API key and print it (it is shown only this once)."""
    settings = _settings(database_url)
    _warn_if_memory(settings)
    with _storage(settings) as container:
        issued = container.generate_key().execute()
    click.echo(issued.api_key)


@main.group()
def db() -> None:
    """Database maintenance."""


@db.command()
@database_url_option
def upgrade(database_url: str | None) -> None:
    """Bring the database schema up to date (the server also does this at start-up)."""
    settings = _settings(database_url)
    with _storage(settings):
        pass
    click.echo("The database schema is up to date.")


@main.command()
@database_url_option
@click.option(
    "--requests",
    default=DEMO_REQUESTS,
    show_default=True,
    type=click.IntRange(1, 1_000_000),
    help="How many requests the day holds.",
)
@click.option("--seed", default=2024, show_default=True, help="Same seed, same day.")
def demo(database_url: str | None, requests: int, seed: int) -> None:
    """Load a synthetic day of traffic under a new API key, and print the key."""
    settings = _settings(database_url)
    _warn_if_memory(settings)
    with _storage(settings) as container:
        key = container.generate_key().execute()
        owner = container.authenticate_key().execute(key.api_key)
        ingest = container.ingest_logs()
        day = synthetic_day(datetime.now(UTC), requests, seed)
        stored = sum(ingest.execute(owner, batch) for batch in _chunks(day, MAX_BATCH_SIZE))
    click.echo(
        f"Loaded {stored} requests to {len(ROUTES)} routes over the last 24 hours "
        "under a new API key:\n"
    )
    click.echo(f"  {key.api_key}\n")
    click.echo("See them (with `analytics serve` running on the same database):")
    click.echo(f'  curl -H "X-API-Key: {key.api_key}" http://127.0.0.1:8000/dashboard')
    click.echo("  or open http://127.0.0.1:8000/ui and paste the key.")


def _settings(database_url: str | None) -> Settings:
    overrides: dict[str, Any] = {} if database_url is None else {"database_url": database_url}
    try:
        settings = Settings(**overrides)
        storage_kind(settings.database_url)
    except (ValidationError, ValueError) as error:
        raise click.BadParameter(str(error), param_hint="database URL / ANALYTICS_*") from None
    return settings


@contextmanager
def _storage(settings: Settings) -> Iterator[Container]:
    """A container whose storage is migrated and ready; released afterwards."""
    container = container_for(settings)
    try:
        start_storage(container)
    except StorageUnavailable as error:
        raise click.ClickException(str(error)) from None
    try:
        yield container
    finally:
        container.release_storage()


def _warn_if_memory(settings: Settings) -> None:
    if storage_kind(settings.database_url) == MEMORY:
        click.echo(
            "warning: memory:// storage ends with this command; use a database URL to keep data",
            err=True,
        )


def _log_config(level: str) -> dict[str, Any]:
    """uvicorn's logging, plus the service's own loggers on the same handler."""
    config = copy.deepcopy(LOGGING_CONFIG)
    config["loggers"]["analytics"] = {
        "handlers": ["default"],
        "level": level.upper(),
        "propagate": False,
    }
    return config


def _chunks(items: Iterable[RequestLog], size: int) -> Iterator[list[RequestLog]]:
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk
