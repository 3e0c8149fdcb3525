"""The real server on a free loopback port with a SQLite file, and headless Chromium.

Chromium is Debian's package at /usr/bin/chromium, driven by Playwright (no browser
download); tests that need it are marked `browser` and skip with the reason when it is absent.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect, sync_playwright

from tests.e2e.server import analytics_command, clean_environment, serving

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
NO_CHROMIUM = (
    "Chromium is not installed at /usr/bin/chromium "
    "(`apt-get install -y chromium`; .ci/run installs it)"
)
SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"
WAIT_MS = 15_000
LOADED = re.compile(r"^Updated ")
API_KEY_PATTERN = re.compile(r"\bak_[0-9a-f]+_[A-Za-z0-9_-]+")
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
# Not UTC on purpose: the page must show and send UTC whatever the browser's zone is.
BROWSER_TIMEZONE = "Asia/Kolkata"


@dataclass
class RunningServer:
    """The server these tests share, and the SQLite file it serves from."""

    base_url: str
    database_url: str

    def new_key(self) -> str:
        response = httpx.post(f"{self.base_url}/generate_key", timeout=10)
        assert response.status_code == 201, response.text
        return str(response.json()["api_key"])

    def send(self, api_key: str, logs: list[dict[str, Any]]) -> None:
        for first in range(0, len(logs), 1000):
            response = httpx.post(
                f"{self.base_url}/track/batch",
                json={"logs": logs[first : first + 1000]},
                headers={"X-API-Key": api_key},
                timeout=30,
            )
            assert response.status_code == 202, response.text

    def get(self, path_and_query: str, api_key: str, accept: str = "application/json") -> Any:
        response = httpx.get(
            f"{self.base_url}{path_and_query}",
            headers={"X-API-Key": api_key, "Accept": accept},
            timeout=30,
        )
        assert response.status_code == 200, response.text
        return response.text if accept == "text/csv" else response.json()


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    folder = tmp_path_factory.mktemp("ui-server")
    database_url = f"sqlite:///{folder / 'analytics.db'}"
    with serving(database_url, folder / "server.log") as running:
        yield RunningServer(running.base_url, database_url)


@pytest.fixture(scope="session")
def demo_key(server: RunningServer) -> str:
    """A key holding `analytics demo`'s synthetic day of traffic, loaded into the server's file."""
    result = subprocess.run(
        [
            *analytics_command(),
            "demo",
            "--requests",
            "5000",
            "--database-url",
            server.database_url,
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env=clean_environment(),
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    found = API_KEY_PATTERN.search(result.stdout)
    assert found, f"no API key in the output of `analytics demo`:\n{result.stdout}"
    return found.group(0)


# Package scope, not session: Playwright's sync API keeps an event loop running in the main
# thread while it is open, which would break every later test that calls asyncio.run().
@pytest.fixture(scope="package")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip(NO_CHROMIUM)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


@dataclass
class Tab:
    """A fresh browser tab (own sessionStorage) that records what the page did."""

    page: Any
    base_url: str
    console_errors: list[str] = field(default_factory=list)
    requests: list[Any] = field(default_factory=list)

    def open(self, query: str = "") -> None:
        self.page.goto(f"{self.base_url}/ui{query}")

    def sign_in(self, api_key: str, query: str = "") -> None:
        self.open(query)
        self.page.fill("#api-key", api_key)
        self.page.click("#sign-in-button")
        self.wait_until_loaded()

    def wait_until_loaded(self) -> None:
        # Locator assertions, not wait_for_function: the page's CSP forbids the eval it uses.
        expect(self.page.locator("#status")).to_have_text(LOADED, timeout=WAIT_MS)

    def screenshot(self, name: str) -> None:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)

    def api_requests(self) -> list[Any]:
        return [r for r in self.requests if "/dashboard" in r.url or "/raw_logs" in r.url]


def _open_tab(browser: Any, server: RunningServer, viewport: dict[str, int]) -> Iterator[Tab]:
    context = browser.new_context(
        viewport=viewport, locale="en-US", timezone_id=BROWSER_TIMEZONE, accept_downloads=True
    )
    page = context.new_page()
    tab = Tab(page=page, base_url=server.base_url)
    page.on(
        "console",
        lambda message: (
            tab.console_errors.append(message.text) if message.type == "error" else None
        ),
    )
    page.on("pageerror", lambda error: tab.console_errors.append(f"uncaught: {error}"))
    page.on("request", lambda request: tab.requests.append(request))
    try:
        yield tab
    finally:
        context.close()


@pytest.fixture
def tab(browser: Any, server: RunningServer) -> Iterator[Tab]:
    yield from _open_tab(browser, server, DESKTOP)


@pytest.fixture
def phone_tab(browser: Any, server: RunningServer) -> Iterator[Tab]:
    yield from _open_tab(browser, server, PHONE)
