"""Hostile input against every real storage and a real server process.

test_hostile_input.py proves each kind of bad input is refused, on process memory. Here:
texts full of NUL bytes, control characters and odd Unicode (which PostgreSQL's TEXT cannot
hold raw) go through SQLite and PostgreSQL exactly as the validation rules say, into the raw
rows and the rollups alike; and `analytics serve`, sent 10 MB bodies and the other kinds of bad
input over a real socket, refuses each with a 4xx, stores nothing, and keeps serving.
"""

from __future__ import annotations

import itertools
import json
import re
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analytics.domain.logs import MAX_ENDPOINT_LENGTH, MAX_TEXT_LENGTH
from tests.e2e.bodies import SEED_LOG, batch_body, log_body
from tests.e2e.conftest import Api
from tests.e2e.server import serving

TEXT_FIELDS = ("endpoint", "path", "user_agent", "consumer")
CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f-\x9f]")
FIRST_MOMENT = datetime(2026, 1, 1, tzinfo=UTC)

# ---- texts round-trip through every storage ---------------------------------------------

CHARACTERS = st.one_of(
    st.characters(codec="utf-8"),  # any code point but surrogates
    st.sampled_from(["\x00", "\x01", "\x1b", "\n", "\x7f", "\x85", "\x9f"]),
    st.sampled_from(["\u2028", "\ufeff", "\u200b", "\u0301", "😀", "\U0010ffff"]),
)
TEXTS = st.one_of(
    st.text(CHARACTERS, max_size=12),
    # Around the length limit, counted in characters (4-byte ones included).
    st.builds(
        lambda c, n: c * n, CHARACTERS, st.integers(MAX_TEXT_LENGTH - 2, MAX_TEXT_LENGTH + 2)
    ),
)
FUZZED_LOGS = st.fixed_dictionaries({field: TEXTS for field in TEXT_FIELDS})


def expected_text(field: str, text: str) -> str | None:
    """What the rules store for `text`: control characters removed, empty optional texts
    null; ValueError when the field is refused."""
    kept = CONTROL_CHARACTERS.sub("", text)
    limit = MAX_ENDPOINT_LENGTH if field == "endpoint" else MAX_TEXT_LENGTH
    if len(kept) > limit or (field == "endpoint" and not kept):
        raise ValueError(field)
    return kept or None


def expected_logs(logs: list[dict[str, str]]) -> Counter[tuple[Any, ...]] | None:
    try:
        return Counter(tuple(expected_text(f, log[f]) for f in TEXT_FIELDS) for log in logs)
    except ValueError:
        return None


def test_fuzzed_texts_are_stored_as_the_rules_say_on_every_storage(api: Api, api_key: str) -> None:
    headers = {"X-API-Key": api_key}
    moments = (FIRST_MOMENT + timedelta(seconds=n) for n in itertools.count())

    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(logs=st.lists(FUZZED_LOGS, min_size=1, max_size=3), raw_utf8=st.booleans())
    def check(logs: list[dict[str, str]], raw_utf8: bool) -> None:
        moment = next(moments).isoformat()
        body = batch_body([log_body(created_at=moment, **log) for log in logs])
        content = json.dumps(body, ensure_ascii=not raw_utf8).encode()

        response = api.client.post("/track/batch", content=content, headers=headers)

        stored = api.get("/raw_logs", api_key, start=moment, end=moment_after(moment))
        expected = expected_logs(logs)
        if expected is None:
            assert response.status_code == 422, response.text
            assert response.json()["detail"][0]["loc"][-1] in TEXT_FIELDS
            assert stored == []
        else:
            assert response.status_code == 202, response.text
            assert Counter(tuple(row[f] for f in TEXT_FIELDS) for row in stored) == expected

    check()
    assert_rollups_hold_the_same_endpoints(api, api_key)


def moment_after(moment: str) -> str:
    return (datetime.fromisoformat(moment) + timedelta(seconds=1)).isoformat()


def assert_rollups_hold_the_same_endpoints(api: Api, api_key: str) -> None:
    raw = api.get("/raw_logs", api_key, limit=1000)
    board = api.get("/dashboard", api_key, top=100)
    per_endpoint = Counter(row["endpoint"] for row in raw)
    assert board["summary"]["total_requests"] == len(raw)
    assert {row["endpoint"]: row["requests"] for row in board["endpoint_stats"]} == {
        row["endpoint"]: per_endpoint[row["endpoint"]] for row in board["endpoint_stats"]
    }
    assert len(board["endpoint_stats"]) == min(len(per_endpoint), 100)


# ---- a real server, sent the worst ------------------------------------------------------

TEN_MB = 10 * 1024 * 1024


def ten_mb_of_logs() -> bytes:
    log = json.dumps(SEED_LOG).encode()
    count = TEN_MB // (len(log) + 1)
    return b'{"logs": [' + b",".join([log] * count) + b"]}"


def in_chunks(content: bytes, size: int = 64 * 1024) -> Iterator[bytes]:
    """Sent chunked, without a Content-Length: the server must count as it reads."""
    for start in range(0, len(content), size):
        yield content[start : start + size]


def as_log(field: str, literal: str) -> bytes:
    return json.dumps(log_body(**{field: "PLACEHOLDER"})).replace('"PLACEHOLDER"', literal).encode()


# (name, body, status): bodies over the 2 MiB default limit are 413, the rest 422.
HOSTILE_BODIES: list[tuple[str, Any, int]] = [
    ("10 MB of logs", ten_mb_of_logs(), 413),
    ("10 MB of logs, chunked", None, 413),  # built per request: a generator is used up once
    ("10 MB of spaces", b" " * TEN_MB, 413),
    ("a 1.5 MB endpoint", json.dumps(log_body(endpoint="/" + "a" * 1_500_000)).encode(), 422),
    ("deeply nested arrays", b"[" * 100_000 + b"]" * 100_000, 422),
    ("deeply nested objects", b'{"a":' * 50_000 + b"1" + b"}" * 50_000, 422),
    ("not UTF-8", b'{"endpoint": "\xc3\x28", "method": "\xff"}', 422),
    ("NaN", as_log("process_time", "NaN"), 422),
    ("Infinity", as_log("process_time", "Infinity"), 422),
    ("a 400-digit status", as_log("status_code", "9" * 400), 422),
    ("year 1", json.dumps(log_body(created_at="0001-01-01T00:00:00")).encode(), 422),
    ("year 9999", json.dumps(log_body(created_at="9999-12-31T23:59:59")).encode(), 422),
    ("only NUL bytes", json.dumps(log_body(endpoint="\x00\x00")).encode(), 422),
]


def post(client: httpx.Client, name: str, body: Any) -> httpx.Response:
    path = "/track/batch" if name.startswith("10 MB of logs") else "/track"
    content = in_chunks(ten_mb_of_logs()) if body is None else body
    return client.post(path, content=content, headers={"Content-Type": "application/json"})


def test_a_real_server_refuses_hostile_bodies_stores_nothing_and_keeps_serving(
    server_database_url: str, tmp_path: Path
) -> None:
    with serving(server_database_url, tmp_path / "server.log") as server:
        api_key = httpx.post(f"{server.base_url}/generate_key").json()["api_key"]
        headers = {"X-API-Key": api_key}
        answers = {}
        with httpx.Client(base_url=server.base_url, headers=headers, timeout=60) as client:
            for name, body, _ in HOSTILE_BODIES:
                response = post(client, name, body)
                answers[name] = (response.status_code, bool(response.json()["detail"]))
                assert httpx.get(f"{server.base_url}/health").status_code == 200, name
            stored_after_hostile = client.get("/raw_logs").json()
            valid = log_body(endpoint="/still\x00/fine", user_agent="\x00")
            accepted = client.post("/track", json=valid)
            stored = client.get("/raw_logs").json()

    assert answers == {name: (status, True) for name, _, status in HOSTILE_BODIES}
    assert stored_after_hostile == []
    assert accepted.status_code == 202
    assert [(row["endpoint"], row["user_agent"]) for row in stored] == [("/still/fine", None)]
