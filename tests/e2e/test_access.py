"""POST /keys/ingest and DELETE /keys/{key_id}: write-only keys, revocation, and isolation.

Every test runs on each storage (memory, SQLite file, PostgreSQL when configured).
"""

from __future__ import annotations

from typing import Any

import pytest

from analytics.domain.keys import KeyScope, parse_key_id
from tests.e2e.bodies import log_body
from tests.e2e.conftest import Api

READS = [("GET", "/raw_logs"), ("GET", "/dashboard"), ("POST", "/keys/ingest")]


def call(api: Api, method: str, path: str, api_key: str | None, **kwargs: Any) -> Any:
    headers = {"X-API-Key": api_key} if api_key is not None else {}
    return api.client.request(method, path, headers=headers, **kwargs)


def issue_ingest_key(api: Api, full_key: str) -> dict[str, Any]:
    response = call(api, "POST", "/keys/ingest", full_key)
    assert response.status_code == 201, response.text
    return response.json()


def key_id_of(api_key: str) -> str:
    key_id = parse_key_id(api_key)
    assert key_id is not None
    return key_id


def test_a_full_key_issues_an_ingest_key_stored_as_its_own(api: Api, api_key: str) -> None:
    body = issue_ingest_key(api, api_key)

    assert set(body) == {"key_id", "api_key", "scope"}
    assert body["scope"] == "ingest"
    assert parse_key_id(body["api_key"]) == body["key_id"]
    stored = api.container.key_repository().get(body["key_id"])
    assert stored is not None
    assert stored.scope is KeyScope.INGEST
    assert stored.owner_id == key_id_of(api_key)
    assert body["api_key"] not in stored.key_hash


def test_logs_sent_with_an_ingest_key_land_in_the_owners_data(api: Api, api_key: str) -> None:
    ingest_key = issue_ingest_key(api, api_key)["api_key"]

    api.send(ingest_key, [log_body(endpoint="/from-the-app")])
    single = call(api, "POST", "/track", ingest_key, json=log_body(endpoint="/single"))

    assert single.status_code == 202
    endpoints = sorted(row["endpoint"] for row in api.get("/raw_logs", api_key))
    assert endpoints == ["/from-the-app", "/single"]
    assert api.get("/dashboard", api_key)["summary"]["total_requests"] == 2


@pytest.mark.parametrize(("method", "path"), READS)
def test_an_ingest_key_gets_403_on_every_read(
    api: Api, api_key: str, method: str, path: str
) -> None:
    ingest_key = issue_ingest_key(api, api_key)["api_key"]
    api.send(ingest_key, [log_body()])

    response = call(api, method, path, ingest_key)

    assert response.status_code == 403
    assert isinstance(response.json()["detail"], str)


def test_an_ingest_key_may_not_revoke_anything(api: Api, api_key: str) -> None:
    ingest = issue_ingest_key(api, api_key)

    for target in (ingest["key_id"], key_id_of(api_key)):
        assert call(api, "DELETE", f"/keys/{target}", ingest["api_key"]).status_code == 403

    assert api.get("/raw_logs", api_key) == []
    api.send(ingest["api_key"], [log_body()])


def test_key_routes_need_a_valid_key(api: Api) -> None:
    assert call(api, "POST", "/keys/ingest", None).status_code == 401
    assert call(api, "DELETE", "/keys/abc", None).status_code == 401
    assert call(api, "DELETE", "/keys/abc", "ak_abc_wrong").status_code == 401


def test_a_full_key_revokes_its_ingest_key_which_then_gets_401_everywhere(
    api: Api, api_key: str
) -> None:
    ingest = issue_ingest_key(api, api_key)
    api.send(ingest["api_key"], [log_body()])

    response = call(api, "DELETE", f"/keys/{ingest['key_id']}", api_key)

    assert response.status_code == 204
    assert response.content == b""
    refused = call(api, "POST", "/track/batch", ingest["api_key"], json={"logs": [log_body()]})
    assert refused.status_code == 401
    assert call(api, "POST", "/track", ingest["api_key"], json=log_body()).status_code == 401
    for method, path in READS:
        assert call(api, method, path, ingest["api_key"]).status_code == 401
    # The owner keeps its key and its data: revoking is not deleting.
    assert len(api.get("/raw_logs", api_key)) == 1


def test_a_full_key_revokes_itself_and_with_it_its_ingest_keys(api: Api, api_key: str) -> None:
    ingest_key = issue_ingest_key(api, api_key)["api_key"]

    response = call(api, "DELETE", f"/keys/{key_id_of(api_key)}", api_key)

    assert response.status_code == 204
    for method, path in [*READS, ("DELETE", f"/keys/{key_id_of(api_key)}")]:
        assert call(api, method, path, api_key).status_code == 401
    assert call(api, "POST", "/track", ingest_key, json=log_body()).status_code == 401


def test_revoking_an_ingest_key_twice_is_harmless(api: Api, api_key: str) -> None:
    ingest_id = issue_ingest_key(api, api_key)["key_id"]

    assert call(api, "DELETE", f"/keys/{ingest_id}", api_key).status_code == 204
    assert call(api, "DELETE", f"/keys/{ingest_id}", api_key).status_code == 204


@pytest.mark.parametrize("key_id", ["000000000000", "no-such-key", "x" * 64])
def test_revoking_an_unknown_key_id_is_404(api: Api, api_key: str, key_id: str) -> None:
    response = call(api, "DELETE", f"/keys/{key_id}", api_key)

    assert response.status_code == 404
    assert isinstance(response.json()["detail"], str)


def test_a_key_cannot_revoke_another_owners_keys_which_look_absent(api: Api) -> None:
    alice, mallory = api.new_key(), api.new_key()
    alice_ingest = issue_ingest_key(api, alice)
    unknown = call(api, "DELETE", "/keys/000000000000", mallory)

    for target in (key_id_of(alice), alice_ingest["key_id"]):
        response = call(api, "DELETE", f"/keys/{target}", mallory)
        # Exactly the answer for a key that does not exist: nothing to probe.
        assert response.status_code == 404
        assert response.json() == unknown.json()

    for stored_id in (key_id_of(alice), alice_ingest["key_id"]):
        stored = api.container.key_repository().get(stored_id)
        assert stored is not None
        assert not stored.revoked
    api.send(alice_ingest["api_key"], [log_body()])
    assert len(api.get("/raw_logs", alice)) == 1


def test_one_key_never_sees_or_changes_another_keys_data(api: Api) -> None:
    alice, bob = api.new_key(), api.new_key()
    alice_ingest = issue_ingest_key(api, alice)["api_key"]
    bob_ingest = issue_ingest_key(api, bob)["api_key"]
    api.send(alice_ingest, [log_body(endpoint="/alice")] * 3)
    api.send(bob_ingest, [log_body(endpoint="/bob")])
    api.send(bob, [log_body(endpoint="/bob")])

    assert {row["endpoint"] for row in api.get("/raw_logs", alice)} == {"/alice"}
    assert {row["endpoint"] for row in api.get("/raw_logs", bob)} == {"/bob"}
    assert api.get("/dashboard", alice)["summary"]["total_requests"] == 3
    assert api.get("/dashboard", bob)["summary"]["total_requests"] == 2

    # Bob revokes his own ingest key: Alice's keys and data are untouched.
    assert call(api, "DELETE", f"/keys/{key_id_of(bob_ingest)}", bob).status_code == 204
    api.send(alice_ingest, [log_body(endpoint="/alice")])
    assert api.get("/dashboard", alice)["summary"]["total_requests"] == 4
