"""Raw records to the JSON the server takes."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from fastapi import FastAPI
from hypothesis import given, settings
from hypothesis import strategies as st

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


def test_the_first_user_agent_counts_even_when_a_later_one_repeats():
    logs = encode(
        raw(headers=((b"user-agent", b"first/1"), (b"user-agent", b"same/9"))),
        raw(headers=((b"user-agent", b"other/2"), (b"user-agent", b"same/9"))),
    )

    assert [log["user_agent"] for log in logs] == ["first/1", "other/2"]


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


# Property: whatever the records, the encoder's JSON parses to what a plain reading of the
# records gives (the reference below: no caching, no tricks, one record at a time).
SENDABLE = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT"]
ROUTES = [  # (route id, path format, endpoint the server should get)
    (id(ROUTE), ROUTE.path_format, "/items/{item_id}"),
    (id(None), None, UNMATCHED_ENDPOINT),
]
HEADER_NAMES = [b"user-agent", b"host", b"accept", b"x-forwarded-for"]
YEAR_2000, YEAR_2100 = 946_684_800.0, 4_102_444_800.0


@st.composite
def raw_records(draw: st.DrawFn) -> tuple:
    route_id, path_format, _ = draw(st.sampled_from(ROUTES))
    headers = draw(
        st.lists(
            st.tuples(
                st.sampled_from(HEADER_NAMES) | st.binary(max_size=12), st.binary(max_size=40)
            ),
            max_size=5,
        )
    )
    return raw(
        created_at=draw(
            st.floats(YEAR_2000, YEAR_2100) | st.sampled_from([MOMENT, MOMENT + 0.999_999_9])
        ),
        method=draw(st.sampled_from([*SENDABLE, "PROPFIND", "get"])),
        path=draw(st.text(max_size=30) | st.text(min_size=2040, max_size=2060)),
        status=draw(st.sampled_from([200, 404, 500]) | st.integers(0, 1000)),
        route_id=route_id,
        path_format=path_format,
        client_host=draw(st.sampled_from([None, "203.0.113.9", "2001:db8::1", "testclient"])),
        consumer=draw(st.none() | st.text(max_size=20)),
        duration=draw(
            st.floats(0.0, 5.0) | st.floats(allow_nan=True) | st.sampled_from([0.0, 86_400.0])
        ),
        headers=tuple(headers),
    )


def reference_log(record: tuple) -> dict | None:
    (created_at, method, path, status, route_id, _, _, _, host, consumer, duration, headers) = (
        record
    )
    if method not in SENDABLE or not 100 <= status <= 599 or not 0.0 <= duration <= 86_400.0:
        return None
    microseconds = int(created_at * 1_000_000)
    second = datetime.fromtimestamp(microseconds // 1_000_000, UTC)
    user_agents = [value for name, value in headers if name == b"user-agent"]
    endpoint = next(endpoint for known, _, endpoint in ROUTES if known == route_id)
    return {
        "created_at": f"{second:%Y-%m-%dT%H:%M:%S}.{microseconds % 1_000_000:06d}Z",
        "method": method,
        "endpoint": endpoint,
        "path": path[:MAX_TEXT_LENGTH],
        "ip": ClientAddresses("full", ()).of(host, ()),
        "process_time": int(duration * 1_000_000 + 0.5) / 1000,
        "status_code": status,
        "user_agent": user_agents[0].decode("latin-1")[:MAX_TEXT_LENGTH] if user_agents else None,
        "consumer": None if consumer is None else consumer[:MAX_TEXT_LENGTH],
    }


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(raw_records(), max_size=8), max_size=4))
def test_any_records_encode_to_what_a_plain_reading_of_them_gives(batches):
    """Several batches through one encoder, so its caches and the second it remembers carry
    over from one batch to the next."""
    encoder = LogEncoder(ClientAddresses("full", ()), EndpointResolver(), lambda: APP)
    for records in batches:
        body = batch_body(encoder.logs(records), "0b1e3c52-58c8-4a5f-9a3c-1f0f5ef6b7a1", 0)

        expected = [log for log in map(reference_log, records) if log is not None]
        assert json.loads(body)["logs"] == expected
