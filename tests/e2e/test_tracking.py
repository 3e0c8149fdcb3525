"""POST /track and POST /track/batch: what is accepted, what is stored, what is refused."""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from analytics.domain.log_filter import LogFilter, LogPage
from analytics.domain.logs import RequestLog
from tests.e2e.bodies import SEED_LOG, batch_body, log_body
from tests.e2e.conftest import Api


def stored_logs(api: Api, api_key: str) -> list[RequestLog]:
    """Every log stored under the key, newest first, read from storage directly."""
    key = api.container.authenticate_key().execute(api_key)
    page = LogPage(limit=1000)
    return [row.log for row in api.container.log_repository().list(key.owner_id, LogFilter(), page)]


def track(api: Api, api_key: str, body: Any) -> Any:
    return api.client.post("/track", json=body, headers={"X-API-Key": api_key})


def track_batch(api: Api, api_key: str, body: Any) -> Any:
    return api.client.post("/track/batch", json=body, headers={"X-API-Key": api_key})


# ---- /track -------------------------------------------------------------------------


def test_track_stores_the_seed_middlewares_body(api: Api, api_key: str) -> None:
    response = track(api, api_key, SEED_LOG)

    assert response.status_code == 202
    assert response.json() == {"accepted": 1}
    assert stored_logs(api, api_key) == [
        RequestLog(
            created_at=datetime(2024, 2, 7, 8, 0, 0, 250000, tzinfo=UTC),
            method="GET",
            endpoint="/api/users",
            ip="10.0.0.1",
            process_time_us=1500,
            status_code=200,
        )
    ]


def test_track_stores_the_optional_fields(api: Api, api_key: str) -> None:
    body = log_body(path="/api/users/42", user_agent="curl/8.5.0", consumer="acme")

    assert track(api, api_key, body).status_code == 202

    [log] = stored_logs(api, api_key)
    assert (log.path, log.user_agent, log.consumer) == ("/api/users/42", "curl/8.5.0", "acme")


@pytest.mark.parametrize(
    ("created_at", "expected"),
    [
        ("2024-02-07T08:00:00", datetime(2024, 2, 7, 8, tzinfo=UTC)),
        ("2024-02-07T08:00:00Z", datetime(2024, 2, 7, 8, tzinfo=UTC)),
        ("2024-02-07T10:30:00+02:30", datetime(2024, 2, 7, 8, tzinfo=UTC)),
        ("2024-02-07T03:00:00-05:00", datetime(2024, 2, 7, 8, tzinfo=UTC)),
        ("2024-02-07T08:00:00.123456", datetime(2024, 2, 7, 8, 0, 0, 123456, tzinfo=UTC)),
    ],
)
def test_created_at_is_stored_in_utc_and_a_naive_time_is_utc(
    memory_api: Api, memory_key: str, created_at: str, expected: datetime
) -> None:
    assert track(memory_api, memory_key, log_body(created_at=created_at)).status_code == 202

    assert stored_logs(memory_api, memory_key)[0].created_at == expected


@pytest.mark.parametrize(
    ("process_time", "expected_us"),
    [(0, 0), (0.0004, 0), (0.0006, 1), (1.5, 1500), (12.3456, 12346), (86_400_000, 86_400_000_000)],
)
def test_process_time_in_ms_is_stored_in_whole_microseconds(
    memory_api: Api, memory_key: str, process_time: float, expected_us: int
) -> None:
    assert track(memory_api, memory_key, log_body(process_time=process_time)).status_code == 202

    assert stored_logs(memory_api, memory_key)[0].process_time_us == expected_us


def test_control_characters_are_stripped_from_texts(memory_api: Api, memory_key: str) -> None:
    body = log_body(endpoint="/api/\x00us\x1fers\x7f", user_agent="curl\n/8", consumer="\x00")

    assert track(memory_api, memory_key, body).status_code == 202

    [log] = stored_logs(memory_api, memory_key)
    assert (log.endpoint, log.user_agent, log.consumer) == ("/api/users", "curl/8", None)


@pytest.mark.parametrize(
    ("ip", "expected"),
    [
        ("", None),
        (None, None),
        ("192.168.0.1", "192.168.0.1"),
        ("2001:DB8:0:0::1", "2001:db8::1"),
        ("fe80::1%eth0", "fe80::1%eth0"),
    ],
)
def test_ip_is_an_address_in_canonical_form_or_null(
    memory_api: Api, memory_key: str, ip: str | None, expected: str | None
) -> None:
    assert track(memory_api, memory_key, log_body(ip=ip)).status_code == 202

    assert stored_logs(memory_api, memory_key)[0].ip == expected


def test_a_missing_ip_is_null(memory_api: Api, memory_key: str) -> None:
    body = log_body()
    del body["ip"]

    assert track(memory_api, memory_key, body).status_code == 202
    assert stored_logs(memory_api, memory_key)[0].ip is None


def test_unknown_fields_are_ignored(memory_api: Api, memory_key: str) -> None:
    assert track(memory_api, memory_key, log_body(future_field={"x": 1})).status_code == 202


@pytest.mark.parametrize(
    "method", ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT"]
)
def test_every_http_method_is_accepted(memory_api: Api, memory_key: str, method: str) -> None:
    assert track(memory_api, memory_key, log_body(method=method)).status_code == 202


INVALID_FIELDS: list[tuple[str, Any]] = [
    ("status_code", 99),
    ("status_code", 600),
    ("status_code", "200"),
    ("status_code", 200.5),
    ("status_code", None),
    ("status_code", True),
    ("process_time", -0.001),
    ("process_time", "1.5"),
    ("process_time", None),
    ("process_time", 86_400_000.1),
    ("method", "get"),
    ("method", "BREW"),
    ("method", ""),
    ("method", 1),
    ("endpoint", ""),
    ("endpoint", "\x00\x01"),
    ("endpoint", "/" * 2049),
    ("endpoint", None),
    ("endpoint", 42),
    ("ip", "not-an-ip"),
    ("ip", "256.0.0.1"),
    ("ip", 167772161),
    ("ip", "10.0.0.1/24"),
    ("ip", "fe80::1%" + "e" * 100),
    ("created_at", "yesterday"),
    ("created_at", "2024-02-30T08:00:00"),
    ("created_at", 1707292800),
    ("created_at", None),
    ("created_at", "1969-12-31T23:59:59Z"),
    ("created_at", "2100-01-01T00:00:00Z"),
    ("path", "/" * 2049),
    ("user_agent", 5),
    ("consumer", ["a"]),
]


@pytest.mark.parametrize(("field", "value"), INVALID_FIELDS)
def test_an_invalid_field_is_422_naming_it_and_nothing_is_stored(
    memory_api: Api, memory_key: str, field: str, value: Any
) -> None:
    response = track(memory_api, memory_key, log_body(**{field: value}))

    assert response.status_code == 422
    assert [error["loc"] for error in response.json()["detail"]] == [["body", field]]
    assert stored_logs(memory_api, memory_key) == []


@pytest.mark.parametrize("field", sorted(SEED_LOG.keys() - {"ip"}))
def test_a_missing_required_field_is_422(memory_api: Api, memory_key: str, field: str) -> None:
    body = log_body()
    del body[field]

    response = track(memory_api, memory_key, body)

    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", field]
    assert response.json()["detail"][0]["type"] == "missing"


def test_an_error_does_not_echo_the_input_back(memory_api: Api, memory_key: str) -> None:
    response = track(memory_api, memory_key, log_body(endpoint="", ip="SECRET-LOOKING"))

    assert response.status_code == 422
    assert "SECRET-LOOKING" not in response.text


@pytest.mark.parametrize("path", ["/track", "/track/batch"])
@pytest.mark.parametrize("headers", [{}, {"X-API-Key": "ak_0123456789ab_wrong"}])
def test_ingest_without_a_valid_key_is_401(
    memory_api: Api, path: str, headers: dict[str, str]
) -> None:
    body = SEED_LOG if path == "/track" else batch_body([SEED_LOG])

    response = memory_api.client.post(path, json=body, headers=headers)

    assert response.status_code == 401
    assert isinstance(response.json()["detail"], str)


# ---- /track/batch -------------------------------------------------------------------


def test_a_batch_is_stored_whole_and_answers_202_with_the_count(api: Api, api_key: str) -> None:
    logs = [log_body(endpoint=f"/e/{i}", status_code=200 + i) for i in range(50)]

    response = track_batch(api, api_key, batch_body(logs))

    assert response.status_code == 202
    assert response.json() == {"accepted": 50}
    stored = stored_logs(api, api_key)
    assert sorted(log.endpoint for log in stored) == sorted(f"/e/{i}" for i in range(50))


def test_a_batch_of_1000_is_accepted(api: Api, api_key: str) -> None:
    response = track_batch(api, api_key, batch_body([SEED_LOG] * 1000))

    assert response.status_code == 202
    assert response.json() == {"accepted": 1000}


def test_an_empty_batch_is_accepted_with_nothing_stored(memory_api: Api, memory_key: str) -> None:
    response = track_batch(memory_api, memory_key, batch_body([]))

    assert response.status_code == 202
    assert response.json() == {"accepted": 0}


def test_one_bad_log_refuses_the_whole_batch_naming_its_index_and_field(
    api: Api, api_key: str
) -> None:
    logs = [log_body() for _ in range(10)]
    logs[7]["status_code"] = 700

    response = track_batch(api, api_key, batch_body(logs))

    assert response.status_code == 422
    assert [error["loc"] for error in response.json()["detail"]] == [
        ["body", "logs", 7, "status_code"]
    ]
    assert stored_logs(api, api_key) == []


def test_more_than_1000_logs_is_413_and_nothing_is_stored(memory_api: Api, memory_key: str) -> None:
    response = track_batch(memory_api, memory_key, batch_body([SEED_LOG] * 1001))

    assert response.status_code == 413
    assert "1000" in response.json()["detail"]
    assert stored_logs(memory_api, memory_key) == []


def test_the_client_middlewares_batch_fields_are_accepted(memory_api: Api, memory_key: str) -> None:
    body = batch_body([SEED_LOG], batch_id=str(uuid.uuid4()), dropped=0)

    response = track_batch(memory_api, memory_key, body)

    assert response.status_code == 202
    assert len(stored_logs(memory_api, memory_key)) == 1


def test_records_the_client_dropped_are_logged(
    memory_api: Api, memory_key: str, caplog: pytest.LogCaptureFixture
) -> None:
    batch_id = str(uuid.uuid4())

    with caplog.at_level(logging.WARNING, logger="analytics.ingest"):
        response = track_batch(
            memory_api, memory_key, batch_body([SEED_LOG], batch_id=batch_id, dropped=17)
        )

    assert response.status_code == 202
    [record] = [r for r in caplog.records if r.name == "analytics.ingest"]
    assert "17" in record.getMessage()
    assert batch_id in record.getMessage()
    assert memory_key not in record.getMessage()  # never log the secret


@pytest.mark.parametrize(
    ("extra", "loc"),
    [
        ({"batch_id": "not-a-uuid"}, ["body", "batch_id"]),
        ({"dropped": -1}, ["body", "dropped"]),
        ({"dropped": "3"}, ["body", "dropped"]),
        ({"dropped": 1.5}, ["body", "dropped"]),
    ],
)
def test_invalid_batch_fields_are_422(
    memory_api: Api, memory_key: str, extra: dict[str, Any], loc: list[str]
) -> None:
    response = track_batch(memory_api, memory_key, batch_body([SEED_LOG], **extra))

    assert response.status_code == 422
    assert [error["loc"] for error in response.json()["detail"]] == [loc]
    assert stored_logs(memory_api, memory_key) == []


@pytest.mark.parametrize("body", [{}, {"logs": None}, {"logs": {}}, {"logs": [1]}, [SEED_LOG]])
def test_a_batch_of_the_wrong_shape_is_422(memory_api: Api, memory_key: str, body: Any) -> None:
    assert track_batch(memory_api, memory_key, body).status_code == 422


def test_one_keys_logs_are_stored_under_that_key_only(api: Api) -> None:
    first, second = api.new_key(), api.new_key()

    api.send(first, [log_body(endpoint="/first")])
    api.send(second, [log_body(endpoint="/second"), log_body(endpoint="/second")])

    assert [log.endpoint for log in stored_logs(api, first)] == ["/first"]
    assert [log.endpoint for log in stored_logs(api, second)] == ["/second", "/second"]


def test_extreme_valid_values_are_stored_and_read_back_unchanged(api: Api, api_key: str) -> None:
    logs = [
        log_body(
            created_at="1970-01-01T00:00:00Z",
            method="CONNECT",
            endpoint="/" + "é" * 2047,
            ip="fe80::1%eth0",
            process_time=86_400_000,
            status_code=100,
            path="p" * 2048,
            user_agent="🦄" * 2048,
            consumer="名前",
        ),
        log_body(
            created_at="2099-12-31T23:59:59.999999Z",
            endpoint="/a",
            ip="ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255",
            process_time=0,
            status_code=599,
        ),
    ]
    api.send(api_key, logs)

    rows = api.get("/raw_logs", api_key)

    assert [row["created_at"] for row in rows] == [
        "2099-12-31T23:59:59.999999Z",
        "1970-01-01T00:00:00Z",
    ]
    newest, oldest = rows
    assert newest["ip"] == "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"
    assert (newest["process_time"], newest["status_code"]) == (0.0, 599)
    assert oldest["endpoint"] == logs[0]["endpoint"]
    assert (oldest["path"], oldest["user_agent"]) == (logs[0]["path"], logs[0]["user_agent"])
    assert (oldest["consumer"], oldest["ip"], oldest["method"]) == (
        "名前",
        "fe80::1%eth0",
        "CONNECT",
    )
    assert (oldest["process_time"], oldest["status_code"]) == (86_400_000.0, 100)
    summary = api.get("/dashboard", api_key)["summary"]
    assert summary["max_response_time"] == 86_400_000.0
