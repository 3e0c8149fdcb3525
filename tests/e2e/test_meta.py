"""GET /, GET /health, storage outages (503) and the OpenAPI document."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import pytest
from dependency_injector import providers

from analytics import SERVICE_NAME, __version__
from analytics.application.errors import StorageUnavailable
from analytics.domain.batches import BatchReceipt
from analytics.domain.dashboard import DashboardData, DashboardQuery
from analytics.domain.keys import ApiKey
from analytics.domain.log_filter import LogFilter, LogPage
from analytics.domain.logs import RequestLog, StoredLog
from tests.e2e.bodies import SEED_LOG, batch_body
from tests.e2e.conftest import Api


class StorageDown:
    """Log and key storage that cannot be reached, as the SQL adapters report it."""

    def _fail(self) -> Any:
        raise StorageUnavailable("storage unavailable: connection refused")

    def add_many(
        self, owner_id: str, logs: Sequence[RequestLog], receipt: BatchReceipt | None = None
    ) -> int:
        return self._fail()

    def list(self, owner_id: str, log_filter: LogFilter, page: LogPage) -> list[StoredLog]:
        return self._fail()

    def time_span(self, owner_id: str) -> tuple[datetime, datetime] | None:
        return self._fail()

    def dashboard_data(self, owner_id: str, query: DashboardQuery) -> DashboardData:
        return self._fail()

    def is_available(self) -> bool:
        return False

    def add(self, key: ApiKey) -> None:
        self._fail()

    def get(self, key_id: str) -> ApiKey | None:
        return self._fail()


def test_root_names_the_service_and_its_version(memory_api: Api) -> None:
    response = memory_api.client.get("/")

    assert response.status_code == 200
    assert response.json()["name"] == SERVICE_NAME
    assert response.json()["version"] == __version__


def test_health_is_200_when_storage_answers(api: Api) -> None:
    response = api.client.get("/health")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_health_is_503_when_storage_is_down_and_200_once_it_is_back(memory_api: Api) -> None:
    with memory_api.container.log_repository.override(providers.Object(StorageDown())):
        down = memory_api.client.get("/health")

    assert down.status_code == 503
    assert down.json() == {"status": "unavailable"}
    assert memory_api.client.get("/health").status_code == 200


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/track", SEED_LOG),
        ("POST", "/track/batch", batch_body([SEED_LOG])),
        ("GET", "/raw_logs", None),
        ("GET", "/dashboard", None),
    ],
)
def test_with_log_storage_down_calls_are_503_with_retry_after(
    memory_api: Api, memory_key: str, method: str, path: str, body: Any
) -> None:
    with memory_api.container.log_repository.override(providers.Object(StorageDown())):
        response = memory_api.client.request(
            method, path, json=body, headers={"X-API-Key": memory_key}
        )

    assert response.status_code == 503
    assert int(response.headers["Retry-After"]) > 0
    assert "unavailable" in response.json()["detail"]


@pytest.mark.parametrize(
    ("method", "path"), [("POST", "/generate_key"), ("GET", "/raw_logs"), ("POST", "/track")]
)
def test_with_key_storage_down_calls_are_503(memory_api: Api, method: str, path: str) -> None:
    with memory_api.container.key_repository.override(providers.Object(StorageDown())):
        response = memory_api.client.request(
            method, path, json=SEED_LOG, headers={"X-API-Key": "ak_0123456789ab_secret"}
        )

    assert response.status_code == 503


# ---- OpenAPI ---------------------------------------------------------------------------


@pytest.fixture
def openapi(memory_api: Api) -> dict[str, Any]:
    response = memory_api.client.get("/openapi.json")
    assert response.status_code == 200
    return dict(response.json())


def test_docs_page_is_served_with_its_assets_from_this_server(memory_api: Api) -> None:
    response = memory_api.client.get("/docs")

    assert response.status_code == 200
    assert "openapi.json" in response.text
    assert "default-src 'none'" in response.headers["content-security-policy"]
    sources = re.findall(r'(?:src|href)="([^"]+)"', response.text)
    assert sources and all(source.startswith("/docs-assets/") for source in sources), sources
    for source in sources:
        assert memory_api.client.get(source).status_code == 200, source


def test_redoc_page_is_not_served(memory_api: Api) -> None:
    # Its bundle fetches a logo from its maker's site; /docs is the one reference page.
    assert memory_api.client.get("/redoc").status_code == 404


def test_openapi_lists_every_endpoint(openapi: dict[str, Any]) -> None:
    assert {
        ("post", "/generate_key"),
        ("post", "/track"),
        ("post", "/track/batch"),
        ("get", "/raw_logs"),
        ("get", "/dashboard"),
        ("get", "/health"),
        ("get", "/"),
    } <= {(method, path) for path, item in openapi["paths"].items() for method in item}


@pytest.mark.parametrize(
    ("method", "path", "statuses"),
    [
        ("post", "/generate_key", {"201", "401", "413", "503"}),
        ("post", "/track", {"202", "401", "413", "422", "503"}),
        ("post", "/track/batch", {"202", "401", "413", "422", "503"}),
        ("get", "/raw_logs", {"200", "401", "403", "422", "503"}),
        ("get", "/dashboard", {"200", "401", "403", "422", "503"}),
        ("get", "/health", {"200", "503"}),
    ],
)
def test_openapi_documents_each_status(
    openapi: dict[str, Any], method: str, path: str, statuses: set[str]
) -> None:
    responses = openapi["paths"][path][method]["responses"]

    assert statuses <= set(responses)
    assert all(responses[status].get("description") for status in statuses)


@pytest.mark.parametrize("path", ["/track", "/track/batch"])
def test_openapi_documents_the_ingest_bodies(openapi: dict[str, Any], path: str) -> None:
    body = openapi["paths"][path]["post"]["requestBody"]["content"]["application/json"]
    name = body["schema"]["$ref"].rsplit("/", 1)[-1]

    assert name in openapi["components"]["schemas"]


@pytest.mark.parametrize(
    ("schema", "field", "unit"),
    [
        ("TrackLog", "process_time", "milliseconds"),
        ("TrackLog", "created_at", "UTC"),
        ("RawLog", "process_time", "milliseconds"),
        ("SummaryOut", "avg_response_time", "milliseconds"),
        ("SummaryOut", "p95_response_time", "milliseconds"),
        ("SummaryOut", "error_rate", "percent"),
        ("TimeSeriesOut", "error_rate", "percent"),
    ],
)
def test_openapi_states_units(openapi: dict[str, Any], schema: str, field: str, unit: str) -> None:
    properties = openapi["components"]["schemas"][schema]["properties"]

    assert unit in properties[field]["description"]


def test_every_schema_field_is_described(openapi: dict[str, Any]) -> None:
    ours = {
        "TrackLog",
        "TrackBatch",
        "Accepted",
        "RawLog",
        "DashboardOut",
        "SummaryOut",
        "EndpointStatsOut",
        "TopIpOut",
        "TimeSeriesOut",
        "NewKey",
        "ServiceInfo",
        "Health",
        "ErrorMessage",
    }
    schemas = openapi["components"]["schemas"]
    undescribed = [
        f"{name}.{field}"
        for name in ours
        for field, spec in schemas[name]["properties"].items()
        if not spec.get("description") and "$ref" not in spec
    ]

    assert undescribed == []


@pytest.mark.parametrize("path", ["/raw_logs", "/dashboard"])
def test_openapi_describes_every_query_parameter(openapi: dict[str, Any], path: str) -> None:
    parameters = openapi["paths"][path]["get"]["parameters"]

    assert [p["name"] for p in parameters if not p.get("description")] == []
