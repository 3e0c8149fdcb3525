from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.contract.backends import Backend, backend_params, open_backend


@pytest.fixture(params=backend_params())
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    """A fresh, empty backend per test."""
    with open_backend(request.param, tmp_path) as opened:
        yield opened


@pytest.fixture(scope="module", params=backend_params())
def shared_backend(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Backend]:
    """One backend per module, for hypothesis tests: they keep examples apart by owner id."""
    with open_backend(request.param, tmp_path_factory.mktemp(request.param)) as opened:
        yield opened
