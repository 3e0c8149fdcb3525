"""The API reference page renders in a real browser from this server's files alone."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import WAIT_MS, RunningServer, Tab

pytestmark = pytest.mark.browser


def test_reference_page_renders_the_operations_from_our_own_origin_alone(
    tab: Tab, server: RunningServer
) -> None:
    tab.page.goto(f"{server.base_url}/docs")

    # Swagger UI labels each operation with its path.
    expect(tab.page.get_by_text("/track/batch", exact=True).first).to_be_visible(timeout=WAIT_MS)
    origins = {urlsplit(request.url).netloc for request in tab.requests}
    assert origins == {urlsplit(server.base_url).netloc}, origins
    assert tab.console_errors == []
