"""DELETE /raw_logs: a full key deletes its matching logs, and /dashboard follows.

Every test runs on each storage (memory, SQLite file, PostgreSQL when configured).
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.bodies import log_body
from tests.e2e.conftest import Api

# Two days, varied in everything the filters and the dashboard look at.
LOGS = [
    log_body(
        created_at=f"2024-02-{7 + i // 24:02d}T{i % 24:02d}:{(i * 7) % 60:02d}:00",
        method=("GET", "POST", "DELETE")[i % 3],
        endpoint=("/a", "/b", "/c/{id}")[i % 3],
        ip=("10.0.0.1", None, "2001:db8::1", "10.0.0.2")[i % 4],
        process_time=(0.05, 1.5, 20.0, 300.0, 4000.0)[i % 5] + i,
        status_code=(200, 201, 404, 500)[i % 4],
    )
    for i in range(48)
]
DASHBOARD_PARAMS: list[dict[str, Any]] = [
    {},
    {"granularity": "minute"},
    {"granularity": "hour", "endpoint": "/b"},
    {"start": "2024-02-07T05:30:00", "end": "2024-02-08T13:10:00", "granularity": "day"},
]


def delete(api: Api, api_key: str | None, **params: Any) -> Any:
    headers = {"X-API-Key": api_key} if api_key is not None else {}
    return api.client.delete("/raw_logs", params=params, headers=headers)


def matches(log: dict[str, Any], params: dict[str, Any]) -> bool:
    """The filters these tests use, as the server applies them."""
    return (
        ("endpoint" not in params or log["endpoint"] == params["endpoint"])
        and ("method" not in params or log["method"] == params["method"])
        and ("status_code" not in params or log["status_code"] == params["status_code"])
        and ("start" not in params or log["created_at"] >= params["start"])
        and ("end" not in params or log["created_at"] < params["end"])
        and ("min_process_time" not in params or log["process_time"] >= params["min_process_time"])
    )


@pytest.mark.parametrize(
    "params",
    [
        {"endpoint": "/b"},
        {"method": "GET", "status_code": 404},
        {"start": "2024-02-07T20:00:00", "end": "2024-02-08T03:00:00"},
        {"min_process_time": 300},
        {},
    ],
)
def test_deletes_the_matching_logs_and_the_dashboard_shows_what_remains(
    api: Api, params: dict[str, Any]
) -> None:
    deleting, reference = api.new_key(), api.new_key()
    api.send(deleting, LOGS[:30])
    api.send(deleting, LOGS[30:])
    remaining = [log for log in LOGS if not matches(log, params)]
    if remaining:
        api.send(reference, remaining)  # a key that only ever had what remains

    response = delete(api, deleting, **params)

    assert response.status_code == 200, response.text
    assert response.json() == {"deleted": len(LOGS) - len(remaining)}
    listed = api.get("/raw_logs", deleting, limit=1000)
    assert sorted(row["created_at"] for row in listed) == sorted(
        row["created_at"] for row in api.get("/raw_logs", reference, limit=1000)
    )
    for dashboard_params in DASHBOARD_PARAMS:
        assert api.get("/dashboard", deleting, **dashboard_params) == api.get(
            "/dashboard", reference, **dashboard_params
        )


def test_deleting_again_deletes_nothing(api: Api, api_key: str) -> None:
    api.send(api_key, LOGS)
    assert delete(api, api_key, endpoint="/a").json() == {"deleted": 16}
    assert delete(api, api_key, endpoint="/a").json() == {"deleted": 0}


def test_an_ingest_key_gets_403_and_deletes_nothing(api: Api, api_key: str) -> None:
    ingest_key = api.client.post("/keys/ingest", headers={"X-API-Key": api_key}).json()["api_key"]
    api.send(ingest_key, LOGS)

    response = delete(api, ingest_key)

    assert response.status_code == 403
    assert len(api.get("/raw_logs", api_key, limit=1000)) == len(LOGS)


def test_one_key_cannot_delete_another_keys_logs(api: Api) -> None:
    alice, bob = api.new_key(), api.new_key()
    api.send(alice, LOGS)
    api.send(bob, LOGS)
    bob_before = api.get("/dashboard", bob)

    assert delete(api, alice).json() == {"deleted": len(LOGS)}
    assert delete(api, alice, endpoint="/a").json() == {"deleted": 0}

    assert len(api.get("/raw_logs", bob, limit=1000)) == len(LOGS)
    assert api.get("/dashboard", bob) == bob_before
    assert api.get("/dashboard", alice)["summary"]["total_requests"] == 0


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"status_code": 99}, "status_code"),
        ({"start": "yesterday"}, "start"),
        ({"limit": 5}, "limit"),  # paging is GET's: a DELETE never means "the first 5"
        ({"start": "2024-02-08T00:00:00", "end": "2024-02-07T00:00:00"}, None),
    ],
)
def test_a_bad_filter_is_422_and_deletes_nothing(
    api: Api, api_key: str, params: dict[str, Any], field: str | None
) -> None:
    api.send(api_key, LOGS)

    response = delete(api, api_key, **params)

    assert response.status_code == 422, response.text
    if field is not None:
        assert ["query", field] in [error["loc"] for error in response.json()["detail"]]
    assert len(api.get("/raw_logs", api_key, limit=1000)) == len(LOGS)


def test_without_a_valid_key_it_is_401(api: Api, api_key: str) -> None:
    api.send(api_key, LOGS)
    assert delete(api, None).status_code == 401
    assert delete(api, "ak_nope_nope").status_code == 401
    assert len(api.get("/raw_logs", api_key, limit=1000)) == len(LOGS)


def test_a_method_raw_logs_lacks_is_405_naming_get_and_delete(api: Api, api_key: str) -> None:
    response = api.client.put("/raw_logs", headers={"X-API-Key": api_key})
    assert response.status_code == 405
    assert response.headers["allow"] == "DELETE, GET"
