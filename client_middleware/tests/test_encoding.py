"""Raw records to the JSON the server takes."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from fastapi import FastAPI

from client_middleware.client_ip import ClientAddresses
from client_middleware.encoding import MAX_TEXT_LENGTH, LogEncoder, batch_body
from client_middleware.routes import UNMATCHED_ENDPOINT, EndpointResolver

APP = FastAPI()


@APP.get("/items/{item_id}")
async def item(item_id: int) -> None:
    return None


ROUTE = APP.routes[-1]
MOMENT = datetime(2024, 2, 7, 8, 0, 1, 250_000, tzinfo=UTC).timestamp()


def raw(**fields: object) -> tuple:
    values = {
        "created_at": MOMENT,
        "method": "GET",
        "path": "/items/3",
        "status": 200,
        "route_id": id(ROUTE),
        "path_format": ROUTE.path_format,
        "root_path": "",
        "mounted_root_path": "",
        "client_host": "203.0.113.9",
        "consumer": None,
        "duration": 0.0125,
        "headers": ((b"host", b"example"), (b"user-agent", b"curl/8.0")),
    } | fields
    return tuple(values.values())


def encode(*records: tuple, privacy: str = "full") -> list[dict]:
    encoder = LogEncoder(ClientAddresses(privacy, ()), EndpointResolver(), lambda: APP)
    body = batch_body(encoder.logs(records), "0b1e3c52-58c8-4a5f-9a3c-1f0f5ef6b7a1", 4)
    payload = json.loads(body)
    assert payload["batch_id"] == "0b1e3c52-58c8-4a5f-9a3c-1f0f5ef6b7a1"
    assert payload["dropped"] == 4
    return payload["logs"]


def test_a_record_becomes_the_log_the_server_expects():
    assert encode(raw()) == [
        {
            "created_at": "2024-02-07T08:00:01.250000Z",
            "method": "GET",
            "endpoint": "/items/{item_id}",
            "path": "/items/3",
            "ip": "203.0.113.9",
            "process_time": 12.5,
            "status_code": 200,
            "user_agent": "curl/8.0",
            "consumer": None,
        }
    ]


def test_created_at_is_utc_iso8601_with_microseconds_across_second_boundaries():
    times = [MOMENT, MOMENT + 0.75, MOMENT + 1.000001, MOMENT + 3600]

    logs = encode(*(raw(created_at=moment) for moment in times))

    parsed = [datetime.fromisoformat(log["created_at"].replace("Z", "+00:00")) for log in logs]
    assert [p.timestamp() for p in parsed] == [round(t, 6) for t in times]
    assert all(log["created_at"].endswith("Z") for log in logs)


def test_text_is_escaped_and_truncated_to_the_servers_limit():
    odd = 'quote " backslash \\ newline \n tab \t unicode é 🎉'
    logs = encode(
        raw(
            path="/" + "x" * 5000,
            headers=((b"user-agent", odd.encode("utf-8")),),
            consumer=odd,
        )
    )

    assert logs[0]["path"] == ("/" + "x" * 5000)[:MAX_TEXT_LENGTH]
    assert logs[0]["consumer"] == odd
    assert logs[0]["user_agent"] == odd.encode("utf-8").decode("latin-1")


def test_records_the_server_would_refuse_are_left_out():
    logs = encode(
        raw(path="/ok"),
        raw(path="/custom-method", method="PROPFIND"),
        raw(path="/odd-status", status=999),
        raw(path="/negative-time", duration=-0.001),
        raw(path="/two-days", duration=2 * 86_400.0),
    )

    assert [log["path"] for log in logs] == ["/ok"]


def test_no_route_means_the_unmatched_bucket():
    logs = encode(raw(path="/nowhere", route_id=id(None), path_format=None, status=404))

    assert logs[0]["endpoint"] == UNMATCHED_ENDPOINT


def test_a_route_the_app_does_not_know_falls_back_to_its_own_path_format():
    logs = encode(raw(path="/mounted/x/1", route_id=12345, path_format="/x/{id}",
                      mounted_root_path="/mounted"))  # fmt: skip

    assert logs[0]["endpoint"] == "/mounted/x/{id}"


def test_missing_user_agent_and_client_are_null():
    logs = encode(raw(headers=(), client_host=None))

    assert (logs[0]["user_agent"], logs[0]["ip"]) == (None, None)


def test_ip_privacy_applies_to_the_encoded_log():
    assert encode(raw(), privacy="anonymized")[0]["ip"] == "203.0.113.0"
    assert encode(raw(), privacy="none")[0]["ip"] is None
