"""Which client IP the per-IP limit counts: the connection's peer, unless that peer is a
proxy listed in ANALYTICS_TRUSTED_PROXIES; then the address it forwarded."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import httpx
import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from analytics.entrypoints.settings import Settings
from tests.e2e.conftest import Api
from tests.e2e.server import RunningServer, serving

ONE_KEY_AN_HOUR = 1 / 60
LIMIT_SETTINGS = {"key_rate_per_minute": ONE_KEY_AN_HOUR, "key_rate_burst": 1}
LIMIT_ENVIRONMENT = {"ANALYTICS_KEY_RATE_PER_MINUTE": "0.0166", "ANALYTICS_KEY_RATE_BURST": "1"}


def issue(client: httpx.Client | TestClient, forwarded_for: str | None = None) -> int:
    headers = {} if forwarded_for is None else {"X-Forwarded-For": forwarded_for}
    return client.post("/generate_key", headers=headers).status_code


@pytest.fixture
def behind_proxy(api_factory: Callable[..., Api]) -> TestClient:
    """The app behind a proxy at 10.0.0.5, trusting 10.0.0.0/8."""
    api = api_factory("memory://", trusted_proxies=["10.0.0.0/8"], **LIMIT_SETTINGS)
    return TestClient(api.app, client=("10.0.0.5", 40000))


def test_behind_a_trusted_proxy_each_forwarded_client_has_its_own_limit(
    behind_proxy: TestClient,
) -> None:
    assert issue(behind_proxy, "203.0.113.1") == 201
    assert issue(behind_proxy, "203.0.113.2") == 201
    assert issue(behind_proxy, "203.0.113.1") == 429


def test_addresses_left_of_the_first_untrusted_one_are_not_believed(
    behind_proxy: TestClient,
) -> None:
    # The client wrote the first entry itself; the proxy chain appended the rest.
    assert issue(behind_proxy, "198.51.100.1, 203.0.113.9, 10.0.0.7") == 201
    assert issue(behind_proxy, "198.51.100.2, 203.0.113.9") == 429


def test_forwarded_headers_from_an_untrusted_peer_are_ignored(
    api_factory: Callable[..., Api],
) -> None:
    api = api_factory("memory://", trusted_proxies=["10.0.0.0/8"], **LIMIT_SETTINGS)
    direct = TestClient(api.app, client=("192.0.2.50", 40000))

    assert issue(direct, "203.0.113.1") == 201
    assert issue(direct, "203.0.113.2") == 429


@pytest.fixture(scope="module")
def untrusting_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    directory = tmp_path_factory.mktemp("client-ip")
    with serving("memory://", directory / "server.log", environment=LIMIT_ENVIRONMENT) as server:
        yield server


def test_analytics_serve_believes_no_forwarded_header_by_default(
    untrusting_server: RunningServer,
) -> None:
    """uvicorn itself would believe X-Forwarded-For from 127.0.0.1; `analytics serve` not."""
    with httpx.Client(base_url=untrusting_server.base_url) as client:
        assert issue(client, "203.0.113.1") == 201
        assert issue(client, "203.0.113.2") == 429


def test_trusted_proxies_are_addresses_or_networks() -> None:
    settings = Settings(trusted_proxies="127.0.0.1, 10.0.0.0/8,::1")

    assert settings.trusted_proxies == ["127.0.0.1", "10.0.0.0/8", "::1"]
    with pytest.raises(ValidationError, match="'nginx' is not an IP address or network"):
        Settings(trusted_proxies="127.0.0.1,nginx")
