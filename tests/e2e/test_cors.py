"""CORS: no CORS headers unless ANALYTICS_CORS_ORIGINS names origins; then only for those."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from pydantic import ValidationError

from analytics.entrypoints.settings import Settings
from tests.e2e.bodies import SEED_LOG
from tests.e2e.conftest import Api

ALLOWED = "https://dashboard.example"
PREFLIGHT = {
    "Access-Control-Request-Method": "GET",
    "Access-Control-Request-Headers": "x-api-key",
}


@pytest.fixture
def cors_api(api_factory: Callable[..., Api]) -> Api:
    return api_factory("memory://", cors_origins=[ALLOWED])


def test_without_origins_configured_no_response_carries_cors_headers(
    memory_api: Api, memory_key: str
) -> None:
    preflight = memory_api.client.options("/dashboard", headers={"Origin": ALLOWED, **PREFLIGHT})
    read = memory_api.client.get("/dashboard", headers={"Origin": ALLOWED, "X-API-Key": memory_key})

    assert preflight.status_code == 405
    assert read.status_code == 200
    for response in (preflight, read):
        assert not any(name.startswith("access-control-") for name in response.headers)


def test_a_configured_origin_may_read_with_its_key(cors_api: Api) -> None:
    api_key = cors_api.new_key()
    preflight = cors_api.client.options("/dashboard", headers={"Origin": ALLOWED, **PREFLIGHT})
    read = cors_api.client.get("/dashboard", headers={"Origin": ALLOWED, "X-API-Key": api_key})

    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == ALLOWED
    assert "x-api-key" in preflight.headers["access-control-allow-headers"].lower()
    assert "access-control-allow-credentials" not in preflight.headers
    assert read.status_code == 200
    assert read.headers["access-control-allow-origin"] == ALLOWED


def test_another_origin_gets_no_cors_grant(cors_api: Api) -> None:
    api_key = cors_api.new_key()
    other = "https://evil.example"
    preflight = cors_api.client.options("/dashboard", headers={"Origin": other, **PREFLIGHT})
    read = cors_api.client.get("/dashboard", headers={"Origin": other, "X-API-Key": api_key})

    assert preflight.status_code == 400
    assert "access-control-allow-origin" not in preflight.headers
    assert "access-control-allow-origin" not in read.headers


def test_a_page_may_read_retry_after_of_a_rate_limited_answer(
    api_factory: Callable[..., Api],
) -> None:
    api = api_factory(
        "memory://", cors_origins=[ALLOWED], ingest_rate_per_second=0.001, ingest_rate_burst=1
    )
    api_key = api.new_key()
    headers = {"Origin": ALLOWED, "X-API-Key": api_key}
    api.client.post("/track", json=SEED_LOG, headers=headers)

    refused = api.client.post("/track", json=SEED_LOG, headers=headers)

    assert refused.status_code == 429
    assert refused.headers["access-control-allow-origin"] == ALLOWED
    assert "retry-after" in refused.headers["access-control-expose-headers"].lower()


@pytest.mark.parametrize(
    "origins", ["https://a.example, http://localhost:3000", "http://[::1]:8080", "*"]
)
def test_origins_are_read_comma_separated(origins: str) -> None:
    expected = [origin.strip() for origin in origins.split(",")]

    assert Settings(cors_origins=origins).cors_origins == expected


@pytest.mark.parametrize("origin", ["a.example", "https://a.example/", "ftp://a.example"])
def test_what_no_browser_sends_as_an_origin_is_refused_at_start_up(origin: str) -> None:
    with pytest.raises(ValidationError, match="is not an origin"):
        Settings(cors_origins=origin)
