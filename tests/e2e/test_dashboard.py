"""GET /dashboard: the seed's shape plus percentiles, equal to the pure calculators' result."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from analytics.domain.dashboard import DashboardQuery, render_dashboard
from analytics.domain.keys import KeyScope
from analytics.domain.logs import RequestLog, ms_to_us
from analytics.domain.metrics import compute_dashboard_data
from analytics.domain.time import Granularity, TimeRange
from analytics.entrypoints.http.schemas.dashboard import DashboardOut
from tests.e2e.bodies import log_body
from tests.e2e.conftest import Api

T0 = datetime(2024, 2, 5, 0, 0, tzinfo=UTC)  # a Monday


def traffic(count: int, span: timedelta, seed: int = 7) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    return [
        log_body(
            created_at=(T0 + span * rng.random()).isoformat(),
            method=rng.choice(["GET", "GET", "POST", "DELETE"]),
            endpoint=rng.choice(["/a", "/b", "/c", "/d", "/e", "/f", "/g"]),
            ip=rng.choice(["10.0.0.1", "10.0.0.2", "10.0.0.3", "2001:db8::1", None]),
            process_time=round(rng.lognormvariate(3, 1), 3),
            status_code=rng.choice([200, 200, 200, 201, 404, 500]),
        )
        for _ in range(count)
    ]


def as_domain(body: dict[str, Any]) -> RequestLog:
    return RequestLog(
        created_at=datetime.fromisoformat(body["created_at"]).astimezone(UTC),
        method=body["method"],
        endpoint=body["endpoint"],
        ip=body["ip"],
        process_time_us=ms_to_us(body["process_time"]),
        status_code=body["status_code"],
    )


def reference(bodies: list[dict[str, Any]], query: DashboardQuery) -> dict[str, Any]:
    """What the pure calculators make of the same logs, as the API would render it."""
    assert query.granularity is not None
    data = compute_dashboard_data([as_domain(b) for b in bodies], query)
    return DashboardOut.of(render_dashboard(data, query.granularity)).model_dump(mode="json")


SEED_SHAPE = {
    "summary": {
        "total_requests",
        "unique_ips",
        "avg_response_time",
        "min_response_time",
        "max_response_time",
        "error_rate",
    },
    "endpoint_row": {"endpoint", "requests", "avg_time", "errors_count"},
    "ip_row": {"ip", "requests"},
    "time_series_row": {"timestamp", "requests", "avg_time", "error_rate"},
}


def test_has_the_seeds_shape_plus_percentiles(api: Api, api_key: str) -> None:
    api.send(api_key, traffic(40, timedelta(days=3)))

    dashboard = api.get("/dashboard", api_key)

    assert set(dashboard) >= {
        "summary",
        "method_usage",
        "endpoint_stats",
        "status_codes",
        "top_ips",
        "time_series",
    }
    summary = set(dashboard["summary"])
    assert summary == SEED_SHAPE["summary"] | {
        "p50_response_time",
        "p95_response_time",
        "p99_response_time",
    }
    assert set(dashboard["endpoint_stats"][0]) == SEED_SHAPE["endpoint_row"] | {"p95_time"}
    assert set(dashboard["top_ips"][0]) == SEED_SHAPE["ip_row"]
    assert set(dashboard["time_series"][0]) >= SEED_SHAPE["time_series_row"]
    assert all(code.isdigit() for code in dashboard["status_codes"])


@pytest.mark.parametrize(
    ("params", "query"),
    [
        ({}, DashboardQuery(granularity=Granularity.DAY)),
        ({"granularity": "hour"}, DashboardQuery(granularity=Granularity.HOUR)),
        ({"granularity": "week", "top": 2}, DashboardQuery(granularity=Granularity.WEEK, top=2)),
        (
            {"granularity": "month", "top": 100},
            DashboardQuery(granularity=Granularity.MONTH, top=100),
        ),
        (
            {"start": "2024-02-06T00:00:00", "end": "2024-02-07T00:00:00Z"},
            DashboardQuery(
                TimeRange(datetime(2024, 2, 6, tzinfo=UTC), datetime(2024, 2, 7, tzinfo=UTC)),
                granularity=Granularity.HOUR,
            ),
        ),
        (
            {"endpoint": "/a", "method": "GET", "granularity": "minute"},
            DashboardQuery(granularity=Granularity.MINUTE, endpoint="/a", method="GET"),
        ),
    ],
)  # fmt: skip
def test_equals_the_pure_calculators_on_the_same_logs(
    api: Api, api_key: str, params: dict[str, Any], query: DashboardQuery
) -> None:
    bodies = traffic(150, timedelta(days=9))
    api.send(api_key, bodies)

    assert api.get("/dashboard", api_key, **params) == reference(bodies, query)


@pytest.mark.parametrize(
    ("span", "expected"),
    [
        (timedelta(minutes=90), "minute"),
        (timedelta(hours=30), "hour"),
        (timedelta(days=20), "day"),
    ],
)
def test_granularity_defaults_from_the_span_of_the_logs(
    api: Api, api_key: str, span: timedelta, expected: str
) -> None:
    api.send(api_key, [*traffic(30, span), log_body(created_at=T0.isoformat())])

    dashboard = api.get("/dashboard", api_key)

    assert dashboard["granularity"] == expected


@pytest.mark.parametrize(
    ("granularity", "created_at", "label"),
    [
        ("minute", "2024-02-07T08:09:59", "2024-02-07T08:09"),
        ("hour", "2024-02-07T08:59:59", "2024-02-07T08:00"),
        ("day", "2024-02-07T23:59:59", "2024-02-07"),
        ("week", "2024-02-11T23:59:59", "2024-02-05"),
        ("month", "2024-02-29T23:59:59", "2024-02"),
        ("day", "2024-02-08T00:30:00+01:00", "2024-02-07"),
    ],
)
def test_time_series_labels_are_utc_buckets(
    memory_api: Api, memory_key: str, granularity: str, created_at: str, label: str
) -> None:
    memory_api.send(memory_key, [log_body(created_at=created_at)])

    dashboard = memory_api.get("/dashboard", memory_key, granularity=granularity)

    assert [row["timestamp"] for row in dashboard["time_series"]] == [label]


def test_units_are_ms_rounded_and_percent(memory_api: Api, memory_key: str) -> None:
    memory_api.send(
        memory_key,
        [
            log_body(process_time=1.234, status_code=200),
            log_body(process_time=2.345, status_code=500),
            log_body(process_time=3.0, status_code=404),
        ],
    )

    summary = memory_api.get("/dashboard", memory_key)["summary"]

    assert summary["avg_response_time"] == 2.19
    assert summary["min_response_time"] == 1.23
    assert summary["max_response_time"] == 3.0
    assert summary["error_rate"] == 66.67


def test_without_logs_totals_are_zero_and_times_null(api: Api, api_key: str) -> None:
    dashboard = api.get("/dashboard", api_key)

    assert dashboard["summary"] == {
        "total_requests": 0,
        "unique_ips": 0,
        "avg_response_time": None,
        "min_response_time": None,
        "max_response_time": None,
        "p50_response_time": None,
        "p95_response_time": None,
        "p99_response_time": None,
        "error_rate": 0.0,
    }
    assert dashboard["method_usage"] == {}
    assert dashboard["status_codes"] == {}
    assert dashboard["endpoint_stats"] == []
    assert dashboard["top_ips"] == []
    assert dashboard["time_series"] == []


def test_top_limits_endpoints_and_ips(memory_api: Api, memory_key: str) -> None:
    memory_api.send(memory_key, traffic(100, timedelta(days=1)))

    dashboard = memory_api.get("/dashboard", memory_key, top=3)

    assert len(dashboard["endpoint_stats"]) == 3
    assert len(dashboard["top_ips"]) == 3


@pytest.mark.parametrize(
    "params",
    [
        {"top": 0},
        {"top": 101},
        {"granularity": "year"},
        {"method": "FETCH"},
        {"start": "soon"},
        {"end": "2024-13-01T00:00:00"},
        {"endpoint": ""},
        {"endpoint": "/" * 2049},
    ],
)
def test_an_invalid_parameter_is_422_naming_it(
    memory_api: Api, memory_key: str, params: dict[str, Any]
) -> None:
    response = memory_api.client.get("/dashboard", params=params, headers={"X-API-Key": memory_key})

    assert response.status_code == 422
    [name] = params
    assert ["query", name] in [error["loc"] for error in response.json()["detail"]]


def test_start_after_end_is_422(memory_api: Api, memory_key: str) -> None:
    response = memory_api.client.get(
        "/dashboard",
        params={"start": "2024-02-08T00:00:00", "end": "2024-02-07T00:00:00"},
        headers={"X-API-Key": memory_key},
    )

    assert response.status_code == 422
    assert response.json() == {"detail": "start must not be after end"}


def test_without_a_valid_key_it_is_401(memory_api: Api) -> None:
    assert memory_api.client.get("/dashboard").status_code == 401
    response = memory_api.client.get("/dashboard", headers={"X-API-Key": "nonsense"})
    assert response.status_code == 401


def test_an_ingest_only_key_may_not_read_403(memory_api: Api, memory_key: str) -> None:
    owner = memory_api.container.authenticate_key().execute(memory_key)
    ingest_key = memory_api.container.generate_key().execute(KeyScope.INGEST, owner).api_key

    response = memory_api.client.get("/dashboard", headers={"X-API-Key": ingest_key})

    assert response.status_code == 403


def test_one_key_never_sees_another_keys_traffic(api: Api) -> None:
    first, second = api.new_key(), api.new_key()
    api.send(first, traffic(20, timedelta(hours=5)))
    api.send(second, [log_body(endpoint="/only-second")])

    dashboard = api.get("/dashboard", second)

    assert dashboard["summary"]["total_requests"] == 1
    assert [row["endpoint"] for row in dashboard["endpoint_stats"]] == ["/only-second"]
