"""GET /raw_logs: a key's logs, newest first, filtered, paged, as JSON or CSV."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest

from analytics.domain.keys import KeyScope
from tests.e2e.bodies import log_body
from tests.e2e.conftest import Api

LOGS = [
    log_body(created_at="2024-02-07T08:00:00", method="GET", endpoint="/a", ip="10.0.0.1",
             process_time=1.0, status_code=200),
    log_body(created_at="2024-02-07T09:00:00", method="POST", endpoint="/b", ip="10.0.0.2",
             process_time=20.0, status_code=201, path="/b?x=1", user_agent="ua", consumer="c1"),
    log_body(created_at="2024-02-07T10:00:00", method="GET", endpoint="/a", ip=None,
             process_time=300.0, status_code=404),
    log_body(created_at="2024-02-07T11:00:00", method="DELETE", endpoint="/c", ip="2001:db8::1",
             process_time=4000.0, status_code=500),
    log_body(created_at="2024-02-07T12:00:00", method="GET", endpoint="/b", ip="10.0.0.1",
             process_time=0.25, status_code=200),
]  # fmt: skip


@pytest.fixture
def loaded_key(api: Api, api_key: str) -> str:
    api.send(api_key, LOGS)
    return api_key


def endpoints_and_hours(rows: list[dict[str, Any]]) -> list[tuple[str, int]]:
    return [(row["endpoint"], int(row["created_at"][11:13])) for row in rows]


def test_lists_every_field_with_an_id_newest_first(api: Api, loaded_key: str) -> None:
    rows = api.get("/raw_logs", loaded_key)

    assert [row["created_at"] for row in rows] == [
        f"2024-02-07T{hour}:00:00Z" for hour in (12, 11, 10, "09", "08")
    ]
    assert len({row["id"] for row in rows}) == 5
    assert rows[3] == {
        "id": rows[3]["id"],
        "created_at": "2024-02-07T09:00:00Z",
        "method": "POST",
        "endpoint": "/b",
        "path": "/b?x=1",
        "ip": "10.0.0.2",
        "process_time": 20.0,
        "status_code": 201,
        "user_agent": "ua",
        "consumer": "c1",
    }


def test_process_time_is_in_milliseconds(api: Api, loaded_key: str) -> None:
    rows = api.get("/raw_logs", loaded_key)

    assert sorted(row["process_time"] for row in rows) == [0.25, 1.0, 20.0, 300.0, 4000.0]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"method": "GET"}, [("/b", 12), ("/a", 10), ("/a", 8)]),
        ({"status_code": 200}, [("/b", 12), ("/a", 8)]),
        ({"endpoint": "/a"}, [("/a", 10), ("/a", 8)]),
        ({"ip": "10.0.0.1"}, [("/b", 12), ("/a", 8)]),
        ({"ip": "2001:DB8:0::1"}, [("/c", 11)]),
        ({"start": "2024-02-07T10:00:00"}, [("/b", 12), ("/c", 11), ("/a", 10)]),
        ({"end": "2024-02-07T10:00:00Z"}, [("/b", 9), ("/a", 8)]),
        ({"start": "2024-02-07T10:30:00+01:00", "end": "2024-02-07T11:00:00"}, [("/a", 10)]),
        ({"min_process_time": 20}, [("/c", 11), ("/a", 10), ("/b", 9)]),
        ({"max_process_time": 20}, [("/b", 12), ("/b", 9), ("/a", 8)]),
        ({"min_process_time": 1, "max_process_time": 300}, [("/a", 10), ("/b", 9), ("/a", 8)]),
        ({"method": "GET", "endpoint": "/a", "status_code": 404}, [("/a", 10)]),
        ({"endpoint": "/nowhere"}, []),
    ],
)
def test_filters_combine(
    api: Api, loaded_key: str, params: dict[str, Any], expected: list[tuple[str, int]]
) -> None:
    assert endpoints_and_hours(api.get("/raw_logs", loaded_key, **params)) == expected


def test_limit_and_offset_page_through_the_listing(api: Api, loaded_key: str) -> None:
    everything = api.get("/raw_logs", loaded_key)

    first = api.get("/raw_logs", loaded_key, limit=2)
    second = api.get("/raw_logs", loaded_key, limit=2, offset=2)
    third = api.get("/raw_logs", loaded_key, limit=2, offset=4)

    assert first + second + third == everything
    assert len(third) == 1


def test_before_id_continues_after_the_last_row_of_a_page(api: Api, loaded_key: str) -> None:
    everything = api.get("/raw_logs", loaded_key)

    pages, before_id = [], None
    while True:
        params = {"limit": 2} | ({"before_id": before_id} if before_id else {})
        page = api.get("/raw_logs", loaded_key, **params)
        if not page:
            break
        pages.extend(page)
        before_id = page[-1]["id"]

    assert pages == everything


def test_limit_defaults_to_100(memory_api: Api, memory_key: str) -> None:
    memory_api.send(memory_key, [log_body()] * 101)

    assert len(memory_api.get("/raw_logs", memory_key)) == 100
    assert len(memory_api.get("/raw_logs", memory_key, limit=1000)) == 101


@pytest.mark.parametrize(
    "params",
    [
        {"limit": 0},
        {"limit": 1001},
        {"limit": "ten"},
        {"offset": -1},
        {"before_id": 0},
        {"status_code": 99},
        {"method": "get"},
        {"ip": "not-an-ip"},
        {"start": "not-a-date"},
        {"min_process_time": -1},
        {"max_process_time": "nan"},
        {"format": "xml"},
        {"unknown_filter": "1"},
    ],
)
def test_an_invalid_parameter_is_422_naming_it(
    memory_api: Api, memory_key: str, params: dict[str, Any]
) -> None:
    response = memory_api.client.get("/raw_logs", params=params, headers={"X-API-Key": memory_key})

    assert response.status_code == 422
    [name] = params
    assert ["query", name] in [error["loc"] for error in response.json()["detail"]]


def test_start_after_end_is_422(memory_api: Api, memory_key: str) -> None:
    response = memory_api.client.get(
        "/raw_logs",
        params={"start": "2024-02-08T00:00:00", "end": "2024-02-07T00:00:00"},
        headers={"X-API-Key": memory_key},
    )

    assert response.status_code == 422
    assert "start" in response.json()["detail"]


def parse_csv(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


@pytest.mark.parametrize(
    ("params", "accept"),
    [
        ({}, "text/csv"),
        ({"format": "csv"}, "application/json"),
        ({}, "application/json;q=0.5, text/csv"),
    ],
)
def test_csv_has_the_same_rows_as_json(
    api: Api, loaded_key: str, params: dict[str, str], accept: str
) -> None:
    as_json = api.get("/raw_logs", loaded_key, method="GET")

    response = api.client.get(
        "/raw_logs",
        params={"method": "GET", **params},
        headers={"X-API-Key": loaded_key, "Accept": accept},
    )

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    rows = parse_csv(response.text)
    assert [row["id"] for row in rows] == [str(row["id"]) for row in as_json]
    assert list(rows[0]) == list(as_json[0])
    assert [float(row["process_time"]) for row in rows] == [r["process_time"] for r in as_json]
    assert [row["created_at"] for row in rows] == [r["created_at"] for r in as_json]
    assert [row["ip"] or None for row in rows] == [r["ip"] for r in as_json]


@pytest.mark.parametrize("accept", [None, "*/*", "application/json", "text/html"])
def test_json_is_the_default(memory_api: Api, memory_key: str, accept: str | None) -> None:
    headers = {"X-API-Key": memory_key} | ({"Accept": accept} if accept else {})

    response = memory_api.client.get("/raw_logs", headers=headers)

    assert response.headers["content-type"] == "application/json"


def test_format_json_wins_over_an_accept_header_asking_for_csv(
    memory_api: Api, memory_key: str
) -> None:
    response = memory_api.client.get(
        "/raw_logs",
        params={"format": "json"},
        headers={"X-API-Key": memory_key, "Accept": "text/csv"},
    )

    assert response.headers["content-type"] == "application/json"


def test_csv_of_no_logs_is_the_header_row(memory_api: Api, memory_key: str) -> None:
    response = memory_api.client.get(
        "/raw_logs", headers={"X-API-Key": memory_key, "Accept": "text/csv"}
    )

    assert response.text.strip() == (
        "id,created_at,method,endpoint,path,ip,process_time,status_code,user_agent,consumer"
    )


def test_csv_quotes_texts_with_commas_and_quotes(memory_api: Api, memory_key: str) -> None:
    memory_api.send(memory_key, [log_body(user_agent='Mozilla, "quoted"')])

    response = memory_api.client.get(
        "/raw_logs", params={"format": "csv"}, headers={"X-API-Key": memory_key}
    )

    assert parse_csv(response.text)[0]["user_agent"] == 'Mozilla, "quoted"'


@pytest.mark.parametrize("headers", [{}, {"X-API-Key": ""}, {"X-API-Key": "ak_000000000000_nope"}])
def test_without_a_valid_key_it_is_401(memory_api: Api, headers: dict[str, str]) -> None:
    response = memory_api.client.get("/raw_logs", headers=headers)

    assert response.status_code == 401
    assert isinstance(response.json()["detail"], str)


def test_an_ingest_only_key_may_not_read_403(api: Api, api_key: str) -> None:
    owner = api.container.authenticate_key().execute(api_key)
    ingest_key = api.container.generate_key().execute(KeyScope.INGEST, owner).api_key
    api.send(ingest_key, [log_body()])

    response = api.client.get("/raw_logs", headers={"X-API-Key": ingest_key})

    assert response.status_code == 403
    assert isinstance(response.json()["detail"], str)
    assert len(api.get("/raw_logs", api_key)) == 1  # its logs went to its owner


def test_one_key_never_sees_another_keys_logs(api: Api) -> None:
    first, second = api.new_key(), api.new_key()
    api.send(first, [log_body(endpoint="/first", ip="10.0.0.1")])

    assert api.get("/raw_logs", second) == []
    assert api.get("/raw_logs", second, ip="10.0.0.1") == []
    first_id = api.get("/raw_logs", first)[0]["id"]
    assert api.get("/raw_logs", second, before_id=first_id + 1) == []
