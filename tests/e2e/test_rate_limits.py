"""Rate limits over HTTP: ingest per key, issuing keys per client IP; 429 with Retry-After."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from tests.e2e.bodies import SEED_LOG, batch_body
from tests.e2e.conftest import Api

SLOW = 1 / 3600  # one token an hour: within a test, only the burst passes


@pytest.fixture
def limited_api(api_factory: Callable[..., Api]) -> Api:
    return api_factory(
        "memory://",
        ingest_rate_per_second=SLOW,
        ingest_rate_burst=3,
        key_rate_per_minute=60 * SLOW,
        key_rate_burst=2,
    )


def post_batch(api: Api, api_key: str) -> int:
    response = api.client.post(
        "/track/batch", json=batch_body([SEED_LOG]), headers={"X-API-Key": api_key}
    )
    return response.status_code


def test_ingest_over_the_limit_is_429_with_retry_after_and_stores_nothing(
    limited_api: Api,
) -> None:
    api_key = limited_api.new_key()
    assert [post_batch(limited_api, api_key) for _ in range(3)] == [202, 202, 202]

    refused = limited_api.client.post(
        "/track", json=SEED_LOG, headers={"X-API-Key": api_key}
    )  # /track and /track/batch share the key's limit

    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) >= 3000  # about an hour, in whole seconds
    assert refused.json()["detail"].startswith("rate limit exceeded: ingest per key")
    assert len(limited_api.get("/raw_logs", api_key)) == 3
    assert limited_api.get("/dashboard", api_key)["summary"]["total_requests"] == 3


def test_the_ingest_limit_is_checked_before_the_body_is_read(limited_api: Api) -> None:
    api_key = limited_api.new_key()
    for _ in range(3):
        post_batch(limited_api, api_key)

    refused = limited_api.client.post(
        "/track/batch", content=b"{not json", headers={"X-API-Key": api_key}
    )

    assert refused.status_code == 429


def test_one_key_over_its_ingest_limit_does_not_slow_another(limited_api: Api) -> None:
    busy, quiet = limited_api.new_key(), limited_api.new_key()
    for _ in range(4):
        post_batch(limited_api, busy)

    assert post_batch(limited_api, busy) == 429
    assert post_batch(limited_api, quiet) == 202


def test_an_unknown_key_is_401_not_429(limited_api: Api) -> None:
    statuses = {post_batch(limited_api, "ak_unknown.secret") for _ in range(5)}

    assert statuses == {401}


def test_issuing_keys_is_limited_per_client_ip_across_both_endpoints(limited_api: Api) -> None:
    full_key = limited_api.new_key()
    ingest = limited_api.client.post("/keys/ingest", headers={"X-API-Key": full_key})
    assert ingest.status_code == 201

    refused_full = limited_api.client.post("/generate_key")
    refused_ingest = limited_api.client.post("/keys/ingest", headers={"X-API-Key": full_key})

    assert refused_full.status_code == refused_ingest.status_code == 429
    assert "key issuance per client IP" in refused_full.json()["detail"]
    assert int(refused_full.headers["Retry-After"]) >= 1


def test_without_a_key_issuing_an_ingest_key_is_401_even_over_the_limit(
    limited_api: Api,
) -> None:
    for _ in range(2):
        limited_api.new_key()

    assert limited_api.client.post("/keys/ingest").status_code == 401


def test_another_client_ip_may_still_issue_keys(limited_api: Api) -> None:
    for _ in range(2):
        limited_api.new_key()
    assert limited_api.client.post("/generate_key").status_code == 429

    other = TestClient(limited_api.app, client=("192.0.2.7", 40000))

    assert other.post("/generate_key").status_code == 201


def test_the_limit_comes_before_the_admin_token_check(api_factory: Callable[..., Api]) -> None:
    api = api_factory(
        "memory://", admin_token="s3cret", key_rate_per_minute=60 * SLOW, key_rate_burst=2
    )
    wrong = {"Authorization": "Bearer guess"}

    statuses = [api.client.post("/generate_key", headers=wrong).status_code for _ in range(3)]

    assert statuses == [401, 401, 429]


def test_a_rate_of_zero_turns_a_limit_off(api_factory: Callable[..., Api]) -> None:
    api = api_factory(
        "memory://",
        ingest_rate_per_second=0,
        ingest_rate_burst=1,
        key_rate_per_minute=0,
        key_rate_burst=1,
    )
    api_key = api.new_key()

    assert {api.client.post("/generate_key").status_code for _ in range(5)} == {201}
    assert {post_batch(api, api_key) for _ in range(5)} == {202}


def test_429_is_in_the_openapi_of_every_limited_operation(memory_api: Api) -> None:
    paths = memory_api.client.get("/openapi.json").json()["paths"]

    for path in ("/track", "/track/batch", "/generate_key", "/keys/ingest"):
        responses = paths[path]["post"]["responses"]
        assert "429" in responses, path
        assert "Retry-After" in responses["429"]["description"]
    assert "429" not in paths["/dashboard"]["get"]["responses"]
