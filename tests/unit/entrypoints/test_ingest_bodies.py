"""The routes validate ingest bodies with TypedDicts made from TrackLog's and TrackBatch's
fields (`TRACK_LOG_BODY`, `TRACK_BATCH_BODY`); the models themselves are the documented
schema. Both must accept, refuse and convert alike."""

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from analytics.entrypoints.http.schemas.logs import (
    TRACK_BATCH_BODY,
    TRACK_LOG_BODY,
    TrackBatch,
    TrackLog,
    request_logs,
)
from tests.e2e.bodies import SEED_LOG

# Valid and invalid values of each field, of the right type and of others.
FIELD_VALUES: dict[str, list[Any]] = {
    "created_at": [
        "2024-02-07T08:00:00Z",
        "2024-02-07T10:30:00+02:30",
        "1969-12-31T23:59:59Z",
        "2100-01-01T00:00:00Z",
        "0001-01-01T00:00:00+05:00",
        "2024-02-30T08:00:00",
        "2024-02-07",
        1707292800,
        None,
    ],
    "method": ["POST", "get", "BREW", "", 1, None],
    "endpoint": ["/a", "", "\x00\x01", "/u\x1fsers\x7f", "/" * 2049, "\u00a0/x", 42, None],
    "ip": ["", None, "2001:DB8::1", "fe80::1%eth0", "010.0.0.1", "256.0.0.1", " 10.0.0.1", 5],
    "process_time": [0, 0.0006, 86_400_000, 86_400_000.1, -0.001, "1.5", True, None],
    "status_code": [100, 599, 99, 600, "200", 200.5, True, None],
    "path": ["/p", "", "\x00", "p" * 2049, "p" * 2048 + "\x00", 5, None],
    "user_agent": ["curl\n/8", "🦄" * 2049, ["a"]],
    "consumer": ["acme", "\x00", "", {}],
}
MISSING = object()
LOGS = st.fixed_dictionaries(
    {
        name: st.sampled_from([value, MISSING, *values])
        for name, values in FIELD_VALUES.items()
        for value in [SEED_LOG.get(name, MISSING)]
    }
).map(lambda log: {name: value for name, value in log.items() if value is not MISSING})
BATCHES = st.fixed_dictionaries(
    {"logs": st.lists(LOGS, max_size=3)},
    optional={
        "batch_id": st.sampled_from(["0b5e1f9e-8f5a-4f0e-9d6e-3c1e2f4a5b6c", "no", None]),
        "dropped": st.sampled_from([0, 17, -1, "3", 1.5, 2**63]),
    },
)
BODIES = st.one_of(BATCHES, st.sampled_from([[], {}, {"logs": None}, {"logs": [1]}, "x"]))


def outcome(validate: Any, body: bytes) -> tuple[str, Any]:
    try:
        return "valid", validate(body)
    except ValidationError as error:
        return "invalid", [
            (e["loc"], e["msg"], e["type"].replace("dict_type", "model_type"))
            for e in error.errors(include_url=False)
        ]


@settings(max_examples=300, deadline=None)
@given(BODIES)
def test_a_batch_is_validated_as_the_trackbatch_model_validates_it(body: Any) -> None:
    content = json.dumps(body).encode()

    fields = outcome(TRACK_BATCH_BODY.validate_json, content)
    model = outcome(TrackBatch.model_validate_json, content)

    assert fields[0] == model[0]
    if fields[0] == "invalid":
        assert fields[1] == model[1]
    else:
        batch, documented = fields[1], model[1]
        assert (batch["batch_id"], batch["dropped"]) == (documented.batch_id, documented.dropped)
        assert batch["logs"] == [dict(log) for log in documented.logs]


@settings(max_examples=200, deadline=None)
@given(LOGS)
def test_a_log_is_validated_as_the_tracklog_model_validates_it(log: dict[str, Any]) -> None:
    content = json.dumps(log).encode()

    fields = outcome(TRACK_LOG_BODY.validate_json, content)
    model = outcome(TrackLog.model_validate_json, content)

    assert fields[0] == model[0]
    assert fields[1] == (dict(model[1]) if model[0] == "valid" else model[1])


def test_request_logs_convert_the_validated_fields() -> None:
    body = {**SEED_LOG, "created_at": "2024-02-07T10:30:00+02:30", "ip": "2001:DB8::1"}

    [log] = request_logs([TRACK_LOG_BODY.validate_json(json.dumps(body))])

    assert (log.created_at.isoformat(), log.method, type(log.method)) == (
        "2024-02-07T08:00:00+00:00",
        "GET",
        str,
    )
    assert (log.ip, log.process_time_us, log.path, log.consumer) == (
        "2001:db8::1",
        1500,
        None,
        None,
    )
