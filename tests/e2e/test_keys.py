"""POST /generate_key: new keys, stored hashed, behind the admin token when one is set."""

from __future__ import annotations

import logging
from collections.abc import Callable

import pytest

from analytics.domain.keys import parse_key_id
from tests.e2e.conftest import Api

ADMIN_TOKEN = "s3cret-admin-token"


def test_generate_key_returns_201_with_a_new_key_that_authenticates(api: Api) -> None:
    response = api.client.post("/generate_key")

    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"api_key", "key_id"}
    assert parse_key_id(body["api_key"]) == body["key_id"]
    assert api.get("/raw_logs", body["api_key"]) == []


def test_keys_are_random_with_at_least_128_bits(memory_api: Api) -> None:
    keys = {memory_api.new_key() for _ in range(20)}

    assert len(keys) == 20
    secrets = [key.split("_", 2)[2] for key in keys]
    # URL-safe base64: 6 bits a character.
    assert min(len(secret) for secret in secrets) * 6 >= 128


def test_a_key_is_stored_only_as_a_hash(api: Api) -> None:
    body = api.client.post("/generate_key").json()

    stored = api.container.key_repository().get(body["key_id"])

    assert stored is not None
    assert body["api_key"] not in stored.key_hash
    assert body["api_key"].split("_", 2)[2] not in stored.key_hash


def test_keys_persist_across_restarts_of_the_app(
    api_factory: Callable[..., Api], sqlite_url: str
) -> None:
    api_key = api_factory(sqlite_url).new_key()

    restarted = api_factory(sqlite_url)

    assert restarted.get("/dashboard", api_key)["summary"]["total_requests"] == 0


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer wrong-token", f"Basic {ADMIN_TOKEN}", "Bearer", f"Bearer {ADMIN_TOKEN}x"],
)
def test_with_an_admin_token_generate_key_needs_it(
    api_factory: Callable[..., Api], authorization: str | None
) -> None:
    api = api_factory("memory://", admin_token=ADMIN_TOKEN)
    headers = {"Authorization": authorization} if authorization else {}

    response = api.client.post("/generate_key", headers=headers)

    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert isinstance(response.json()["detail"], str)


def test_with_the_admin_token_generate_key_issues_a_key(api_factory: Callable[..., Api]) -> None:
    api = api_factory("memory://", admin_token=ADMIN_TOKEN)

    response = api.client.post("/generate_key", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})

    assert response.status_code == 201
    assert api.get("/raw_logs", response.json()["api_key"]) == []


def test_without_an_admin_token_the_server_warns_at_start_up(
    api_factory: Callable[..., Api], caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="analytics"):
        api = api_factory("memory://")

    assert "ANALYTICS_ADMIN_TOKEN is not set" in caplog.text
    assert api.client.post("/generate_key").status_code == 201


def test_with_an_admin_token_the_server_does_not_warn(
    api_factory: Callable[..., Api], caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="analytics"):
        api_factory("memory://", admin_token=ADMIN_TOKEN)

    assert "ANALYTICS_ADMIN_TOKEN" not in caplog.text


def test_an_empty_admin_token_counts_as_none(api_factory: Callable[..., Api]) -> None:
    api = api_factory("memory://", admin_token="")

    assert api.client.post("/generate_key").status_code == 201
