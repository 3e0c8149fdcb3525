from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from client_middleware.tests.collector import Collector
from client_middleware.tests.servers import ThreadedServer


@pytest.fixture(scope="session")
def shared_collector() -> Iterator[tuple[Collector, str]]:
    """One collector for the tests that do not change its answers (logs are kept per key)."""
    collector = Collector()
    with ThreadedServer(collector) as server:
        yield collector, server.url


@pytest.fixture
def collector() -> Iterator[tuple[Collector, str]]:
    """A collector of this test's own, whose answers the test may change."""
    collector = Collector()
    with ThreadedServer(collector) as server:
        yield collector, server.url


@pytest.fixture
def api_key() -> str:
    return f"key-{uuid.uuid4()}"
