"""Nothing a client sends causes a 500: each kind of bad input gets a clear 4xx.

The TestClient re-raises any exception the app lets escape, so a 500 fails these tests
loudly rather than hiding in a status code.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.e2e.bodies import SEED_LOG, batch_body, log_body
from tests.e2e.conftest import Api

INGEST_PATHS = ["/track", "/track/batch"]


def post_raw(api: Api, path: str, content: bytes, api_key: str) -> Any:
    return api.client.post(
        path,
        content=content,
        headers={"X-API-Key": api_key, "Content-Type": "application/json"},
    )


def stored_count(api: Api, api_key: str) -> int:
    return len(api.get("/raw_logs", api_key, limit=1000))


def wrapped(path: str, log: dict[str, Any]) -> dict[str, Any]:
    return log if path == "/track" else batch_body([log])


# ---- malformed JSON --------------------------------------------------------------------

MALFORMED_BODIES = [
    pytest.param(b"", id="empty"),
    pytest.param(b"{", id="truncated"),
    pytest.param(b"{'logs': []}", id="single-quotes"),
    pytest.param(b"null", id="null"),
    pytest.param(b"[]", id="array"),
    pytest.param(b'"text"', id="string"),
    pytest.param(b"12", id="number"),
    pytest.param(b'{"logs": []} trailing', id="trailing-garbage"),
    pytest.param(b"\xff\xfe\x00{", id="non-utf8"),
    pytest.param(b'{"endpoint": "\xc3\x28"}', id="invalid-utf8-in-string"),
    pytest.param(b'{"endpoint": "\\ud800"}', id="lone-surrogate"),
    pytest.param(b"\xef\xbb\xbf" + json.dumps(SEED_LOG).encode(), id="utf8-bom"),
    pytest.param(b"[" * 100_000 + b"]" * 100_000, id="deeply-nested-arrays"),
    pytest.param(b'{"a":' * 50_000 + b"1" + b"}" * 50_000, id="deeply-nested-objects"),
]


@pytest.mark.parametrize("path", INGEST_PATHS)
@pytest.mark.parametrize("content", MALFORMED_BODIES)
def test_malformed_json_is_422_and_nothing_is_stored(
    memory_api: Api, memory_key: str, path: str, content: bytes
) -> None:
    response = post_raw(memory_api, path, content, memory_key)

    assert response.status_code == 422
    assert response.json()["detail"]
    assert stored_count(memory_api, memory_key) == 0


def test_deep_nesting_inside_a_log_is_422(memory_api: Api, memory_key: str) -> None:
    body = json.dumps(SEED_LOG)[:-1] + ', "extra": ' + "[" * 10_000 + "]" * 10_000 + "}"

    response = post_raw(memory_api, "/track", body.encode(), memory_key)

    assert response.status_code == 422


# ---- numbers ---------------------------------------------------------------------------

NUMBER_LITERALS = [
    pytest.param("NaN", id="nan"),
    pytest.param("Infinity", id="infinity"),
    pytest.param("-Infinity", id="minus-infinity"),
    pytest.param("1e400", id="float-overflow"),
    pytest.param("1" + "0" * 400, id="huge-integer"),
    pytest.param("-" + "9" * 400, id="huge-negative-integer"),
    pytest.param("1e-400", id="float-underflow"),
]


@pytest.mark.parametrize("path", INGEST_PATHS)
@pytest.mark.parametrize("field", ["process_time", "status_code"])
@pytest.mark.parametrize("literal", NUMBER_LITERALS)
def test_non_finite_and_huge_numbers_are_refused(
    memory_api: Api, memory_key: str, path: str, field: str, literal: str
) -> None:
    log = json.dumps(log_body(**{field: "PLACEHOLDER"})).replace('"PLACEHOLDER"', literal)
    content = log if path == "/track" else f'{{"logs": [{log}]}}'

    response = post_raw(memory_api, path, content.encode(), memory_key)

    if literal == "1e-400" and field == "process_time":
        assert response.status_code == 202  # 0.0 ms: a valid, if tiny, time
    else:
        assert response.status_code == 422
        assert response.json()["detail"][0]["loc"][-1] == field


def test_a_huge_dropped_count_is_422(memory_api: Api, memory_key: str) -> None:
    content = '{"logs": [], "dropped": ' + "9" * 400 + "}"

    assert post_raw(memory_api, "/track/batch", content.encode(), memory_key).status_code == 422


# ---- dates -----------------------------------------------------------------------------

FAR_DATES = [
    "0001-01-01T00:00:00",
    "0001-01-01T00:00:00+05:00",  # before year 1 once converted to UTC
    "9999-12-31T23:59:59.999999",
    "9999-12-31T23:59:59-05:00",  # after year 9999 once converted to UTC
    "1900-01-01T00:00:00Z",
    "3000-01-01T00:00:00Z",
    "99999-01-01T00:00:00",
    "2024-02-07T08:00:00+24:00",
]


@pytest.mark.parametrize("path", INGEST_PATHS)
@pytest.mark.parametrize("created_at", FAR_DATES)
def test_dates_far_in_the_past_or_future_are_422(
    memory_api: Api, memory_key: str, path: str, created_at: str
) -> None:
    response = memory_api.client.post(
        path, json=wrapped(path, log_body(created_at=created_at)), headers={"X-API-Key": memory_key}
    )

    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"][-1] == "created_at"


@pytest.mark.parametrize("read_path", ["/raw_logs", "/dashboard"])
@pytest.mark.parametrize(
    "moment", ["0001-01-01T00:00:00+05:00", "9999-12-31T23:59:59-05:00", "1e309", "99999-01-01"]
)
def test_far_dates_in_queries_do_not_break_reads(
    api: Api, api_key: str, read_path: str, moment: str
) -> None:
    api.send(api_key, [log_body()])

    for params in ({"start": moment}, {"end": moment}):
        response = api.client.get(read_path, params=params, headers={"X-API-Key": api_key})
        assert response.status_code == 422, response.text


@pytest.mark.parametrize("read_path", ["/raw_logs", "/dashboard"])
def test_the_widest_valid_range_reads_fine(api: Api, api_key: str, read_path: str) -> None:
    api.send(api_key, [log_body()])
    params = {"start": "0001-01-01T00:00:00", "end": "9999-12-31T23:59:59"}

    response = api.client.get(read_path, params=params, headers={"X-API-Key": api_key})

    assert response.status_code == 200


# ---- texts in queries ------------------------------------------------------------------


@pytest.mark.parametrize("read_path", ["/raw_logs", "/dashboard"])
@pytest.mark.parametrize("endpoint", ["\x00/api/users", "/api/\x00users", "/api/users\x1b"])
def test_control_characters_in_an_endpoint_filter_match_as_stripped(
    api: Api, api_key: str, read_path: str, endpoint: str
) -> None:
    api.send(api_key, [log_body(endpoint="/api/users")])

    response = api.client.get(
        read_path, params={"endpoint": endpoint}, headers={"X-API-Key": api_key}
    )

    assert response.status_code == 200
    found = response.json()
    assert (len(found) if read_path == "/raw_logs" else found["summary"]["total_requests"]) == 1


@pytest.mark.parametrize(
    "params",
    [
        {"limit": "9" * 400},
        {"offset": "9" * 400},
        {"before_id": "9" * 400},
        {"status_code": "9" * 400},
        {"min_process_time": "1e400"},
        {"max_process_time": "inf"},
        {"ip": "\x00"},
        {"ip": "1" * 5000},
        {"method": "\xff"},
    ],
)
def test_hostile_raw_log_parameters_are_422(api: Api, api_key: str, params: dict[str, str]) -> None:
    response = api.client.get("/raw_logs", params=params, headers={"X-API-Key": api_key})

    assert response.status_code == 422


def test_the_largest_valid_paging_values_read_fine(api: Api, api_key: str) -> None:
    api.send(api_key, [log_body()])
    params = {"offset": 2**31 - 1, "before_id": 2**63 - 1, "limit": 1000}

    response = api.client.get("/raw_logs", params=params, headers={"X-API-Key": api_key})

    assert response.status_code == 200
    assert response.json() == []


@pytest.mark.parametrize("accept", ["text/csv;q=abc", "text/csv;q=", ";;;,,,", "text/csv;q=2"])
def test_odd_accept_headers_are_harmless(memory_api: Api, memory_key: str, accept: str) -> None:
    response = memory_api.client.get(
        "/raw_logs", headers={"X-API-Key": memory_key, "Accept": accept}
    )

    assert response.status_code == 200


# ---- keys ------------------------------------------------------------------------------

ODD_KEYS = [
    "",
    " ",
    "ak",
    "ak_",
    "ak__",
    "ak_x_",
    "ak__secret",
    "ak_0123456789ab_",
    "AK_0123456789ab_secret",
    "Bearer ak_0123456789ab_secret",
    "x" * 8000,
    "ak_" + "f" * 5000 + "_secret",
    "ak_élan_sécret",
    "ak_\x7f_\x01",
]


@pytest.mark.parametrize("api_key", ODD_KEYS)
@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/raw_logs"), ("POST", "/track/batch")],
)
def test_keys_of_any_shape_are_401(api: Api, api_key: str, method: str, path: str) -> None:
    body = wrapped(path, SEED_LOG) if method == "POST" else None

    response = api.client.request(
        method, path, json=body, headers={"X-API-Key": api_key.encode("utf-8")}
    )

    assert response.status_code == 401


# ---- the ingest schema, fuzzed ---------------------------------------------------------

JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=30),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)
FIELD_VALUES = st.one_of(
    JSON_VALUES,
    st.sampled_from(["GET", "get", "", "2024-02-07T08:00:00", "10.0.0.1", "::1", "/a\x00b"]),
    st.integers(min_value=0, max_value=1000),
    st.floats(min_value=-1, max_value=1e9),
)
FUZZED_LOGS = st.fixed_dictionaries(
    {},
    optional={name: FIELD_VALUES for name in [*SEED_LOG, "path", "user_agent", "consumer"]},
)


def test_fuzzed_batches_are_stored_whole_or_refused_with_4xx(
    api_factory: Callable[..., Api],
) -> None:
    # The app is built once, outside the examples; each example sends under a new key, so
    # key issuance is not rate-limited here.
    memory_api = api_factory("memory://", key_rate_per_minute=0)
    client = memory_api.client

    @settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(logs=st.lists(st.one_of(FUZZED_LOGS, st.just(SEED_LOG)), max_size=4))
    def check(logs: list[dict[str, Any]]) -> None:
        headers = {"X-API-Key": memory_api.new_key()}
        content = json.dumps({"logs": logs}, allow_nan=True).encode()

        response = client.post("/track/batch", content=content, headers=headers)

        stored = client.get("/raw_logs", params={"limit": 1000}, headers=headers).json()
        if response.status_code == 202:
            assert response.json() == {"accepted": len(logs)}
            assert len(stored) == len(logs)
        else:
            assert response.status_code == 422, response.text
            assert stored == []
            assert all(error["loc"][0] == "body" for error in response.json()["detail"])

    check()
