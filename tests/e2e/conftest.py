"""The real app over a fresh container per test, and clients that talk to it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from analytics.containers import Container
from analytics.entrypoints.http.app import create_app
from analytics.entrypoints.settings import Settings
from tests.conftest import database_url_for

MAX_BODY_BYTES = 2 * 1024 * 1024


@dataclass
class Api:
    """A TestClient on a running app (lifespan entered), with its container."""

    client: TestClient
    container: Container
    app: FastAPI

    def new_key(self) -> str:
        response = self.client.post("/generate_key")
        assert response.status_code == 201, response.text
        return str(response.json()["api_key"])

    def send(self, api_key: str, logs: list[dict[str, Any]]) -> None:
        response = self.client.post(
            "/track/batch", json={"logs": logs}, headers={"X-API-Key": api_key}
        )
        assert response.status_code == 202, response.text
        assert response.json() == {"accepted": len(logs)}

    def get(self, path: str, api_key: str, **params: Any) -> Any:
        response = self.client.get(path, params=params, headers={"X-API-Key": api_key})
        assert response.status_code == 200, response.text
        return response.json()


def settings_for(database_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "admin_token": None,
        "max_body_bytes": MAX_BODY_BYTES,
    }
    return Settings(**{**values, **overrides})


def container_for(database_url: str) -> Container:
    container = Container()
    container.config.from_dict({"database_url": database_url})
    return container


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def server_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database `analytics serve` processes can share: a SQLite file, then PostgreSQL."""
    yield from database_url_for(request.param, tmp_path)


@pytest.fixture
def api_factory() -> Iterator[Callable[..., Api]]:
    """Start the app on a database URL (optionally with settings); stopped after the test."""
    opened: list[tuple[TestClient, Container]] = []

    def start(database_url: str, container: Container | None = None, **settings: Any) -> Api:
        container = container or container_for(database_url)
        app = create_app(container, settings_for(database_url, **settings))
        client = TestClient(app)
        client.__enter__()
        opened.append((client, container))
        return Api(client, container, app)

    yield start
    for client, container in reversed(opened):
        client.__exit__(None, None, None)
        container.unwire()


@pytest.fixture
def api(api_factory: Callable[..., Api], database_url: str) -> Api:
    """The app on each storage in turn (memory, SQLite file, PostgreSQL)."""
    return api_factory(database_url)


@pytest.fixture
def memory_api(api_factory: Callable[..., Api]) -> Api:
    """The app on process memory: for behaviour that does not depend on storage."""
    return api_factory("memory://")


@pytest.fixture
def api_key(api: Api) -> str:
    return api.new_key()


@pytest.fixture
def memory_key(memory_api: Api) -> str:
    return memory_api.new_key()
