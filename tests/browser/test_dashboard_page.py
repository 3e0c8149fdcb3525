"""The /ui dashboard in headless Chromium against the real server (uvicorn, SQLite file).

Every number the page shows is checked against the JSON the server answers to the very same
request, fetched again here: the page must be a view of /dashboard and /raw_logs, nothing else.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from playwright.sync_api import expect

from analytics.containers import start_storage
from analytics.domain.keys import KeyScope
from analytics.entrypoints.settings import Settings, container_for
from tests.browser.conftest import CHROMIUM, NO_CHROMIUM, PHONE, WAIT_MS, RunningServer, Tab
from tests.browser.traffic import MARKUP_ENDPOINT, spread_traffic

pytestmark = [pytest.mark.browser, pytest.mark.skipif(not CHROMIUM.exists(), reason=NO_CHROMIUM)]

CARD_METRICS = [
    "total_requests",
    "unique_ips",
    "avg_response_time",
    "p50_response_time",
    "p95_response_time",
    "p99_response_time",
    "error_rate",
]
# Chromium reports every failed fetch as a console error; a 401/403 is the expected answer
# to a bad key, so those (and only those) are allowed where a test provokes them.
REJECTED_KEY_LOGS = ("status of 401", "status of 403")
NOT_AVAILABLE = "\u2013"  # the en dash the page shows for a null value
LOGS_SHOWN = re.compile(r"^(Showing|No )")


@pytest.fixture(scope="session")
def traffic_key(server: RunningServer) -> str:
    """A key with ten days of known traffic, denser in the last hour."""
    key = server.new_key()
    server.send(key, spread_traffic(datetime.now(UTC)))
    return key


def _is_dashboard(response: Any) -> bool:
    return urlsplit(response.url).path == "/dashboard"


def _path_and_query(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}" if parts.query else parts.path


def _shown_number(text: str) -> float | None:
    cleaned = text.replace(",", "").replace("ms", "").replace("%", "").strip()
    return None if cleaned == NOT_AVAILABLE else float(cleaned)


def _sign_in_capturing(tab: Tab, key: str, query: str = "") -> Any:
    """Sign in and return the /dashboard response the page drew from."""
    with tab.page.expect_response(_is_dashboard) as answer:
        tab.sign_in(key, query)
    return answer.value


def _reload_capturing(tab: Tab, action: Any) -> Any:
    """Run `action` (which makes the page ask /dashboard again); the response it drew from."""
    with tab.page.expect_response(_is_dashboard) as answer:
        action()
    tab.wait_until_loaded()
    return answer.value


def _assert_cards_show(tab: Tab, summary: dict[str, Any]) -> None:
    for metric in CARD_METRICS:
        card = tab.page.locator(f'.card[data-metric="{metric}"]')
        assert _shown_number(card.locator(".card-value").inner_text()) == summary[metric], metric
        exact = card.get_attribute("data-value")
        assert (None if exact == "" else float(exact)) == summary[metric], metric


def _same_as_server(server: RunningServer, key: str, response: Any) -> dict[str, Any]:
    """The page's answer, after checking the server gives the same one to the same request."""
    shown = response.json()
    assert server.get(_path_and_query(response.url), key) == shown
    return shown


def _column(tab: Tab, table: str, index: int) -> list[str]:
    return tab.page.locator(f"#{table} tbody tr td:nth-child({index})").all_inner_texts()


def test_cards_show_the_numbers_of_the_dashboard_json(
    server: RunningServer, demo_key: str, tab: Tab
) -> None:
    answer = _sign_in_capturing(tab, demo_key, "?range=all")
    dashboard = _same_as_server(server, demo_key, answer)

    assert dashboard["summary"]["total_requests"] > 0
    _assert_cards_show(tab, dashboard["summary"])
    tab.screenshot("overview-demo-desktop")
    assert tab.console_errors == []


def test_charts_and_tables_draw_the_dashboard_rows(
    server: RunningServer, traffic_key: str, tab: Tab
) -> None:
    dashboard = _same_as_server(
        server, traffic_key, _sign_in_capturing(tab, traffic_key, "?range=all&top=25")
    )
    page = tab.page

    series = dashboard["time_series"]
    assert page.locator("#requests-chart rect.bar-ok").count() == len(series)
    assert page.locator("#requests-chart rect.bar-err").count() == sum(
        1 for row in series if row["error_rate"] > 0
    )
    assert page.locator("#latency-chart path.line-p95").count() == 1
    assert _column(tab, "endpoints-table", 1) == [
        r["endpoint"] for r in dashboard["endpoint_stats"]
    ]
    assert [_shown_number(t) for t in _column(tab, "endpoints-table", 2)] == [
        r["requests"] for r in dashboard["endpoint_stats"]
    ]
    assert [_shown_number(t) for t in _column(tab, "endpoints-table", 4)] == [
        r["p95_time"] for r in dashboard["endpoint_stats"]
    ]
    methods = page.locator("#methods-chart .bar-label").all_inner_texts()
    assert methods == list(dashboard["method_usage"])
    codes = page.locator("#status-chart .bar-list .bar-label").all_inner_texts()
    assert codes == list(dashboard["status_codes"])
    assert page.locator("#status-chart .class-legend li").all_inner_texts()[0].startswith("2xx")
    ips = page.locator("#ips-chart .bar-label").all_inner_texts()
    assert ips == [row["ip"] for row in dashboard["top_ips"]]
    assert tab.console_errors == []


def test_changing_the_range_changes_numbers_and_charts(
    server: RunningServer, traffic_key: str, tab: Tab
) -> None:
    everything = _same_as_server(
        server, traffic_key, _sign_in_capturing(tab, traffic_key, "?range=all")
    )
    page = tab.page
    label_before = page.locator("#requests-chart svg").get_attribute("aria-label")

    answer = _reload_capturing(tab, lambda: page.select_option("#range", "1h"))
    last_hour = _same_as_server(server, traffic_key, answer)

    assert "start" in parse_qs(urlsplit(answer.url).query)
    assert 0 < last_hour["summary"]["total_requests"] < everything["summary"]["total_requests"]
    _assert_cards_show(tab, last_hour["summary"])
    assert page.locator("#requests-chart svg").get_attribute("aria-label") != label_before
    assert page.locator("#requests-chart rect.bar-ok").count() == len(last_hour["time_series"])
    # An hour by minute: about 60 slots, empty minutes included, not just the busy ones.
    assert 60 <= page.locator("#requests-chart rect.hover-target").count() <= 61
    assert parse_qs(urlsplit(page.url).query)["range"] == ["1h"]
    tab.screenshot("overview-last-hour")
    assert tab.console_errors == []


def test_a_custom_range_is_read_and_sent_as_utc(
    server: RunningServer, traffic_key: str, tab: Tab
) -> None:
    _sign_in_capturing(tab, traffic_key, "?range=all")
    page = tab.page
    start = (datetime.now(UTC) - timedelta(days=3)).replace(second=0, microsecond=0)
    end = start + timedelta(days=1)
    page.select_option("#range", "custom")
    tab.wait_until_loaded()
    page.fill("#from", start.strftime("%Y-%m-%dT%H:%M"))
    tab.wait_until_loaded()

    answer = _reload_capturing(tab, lambda: page.fill("#to", end.strftime("%Y-%m-%dT%H:%M")))

    sent = parse_qs(urlsplit(answer.url).query)
    assert sent["start"] == [start.strftime("%Y-%m-%dT%H:%M:00.000Z")]
    assert sent["end"] == [end.strftime("%Y-%m-%dT%H:%M:00.000Z")]
    _assert_cards_show(tab, _same_as_server(server, traffic_key, answer)["summary"])
    shown = parse_qs(urlsplit(page.url).query)
    assert shown["from"] == [start.strftime("%Y-%m-%dT%H:%M")]
    assert tab.console_errors == []


def test_choices_live_in_the_url_and_the_key_only_in_a_header(traffic_key: str, tab: Tab) -> None:
    tab.sign_in(traffic_key)
    page = tab.page
    page.select_option("#method", "GET")
    tab.wait_until_loaded()
    page.select_option("#granularity", "day")
    tab.wait_until_loaded()
    page.fill("#endpoint", "/api/users")
    _reload_capturing(tab, lambda: page.press("#endpoint", "Enter"))
    query = parse_qs(urlsplit(page.url).query)
    assert query == {"method": ["GET"], "granularity": ["day"], "endpoint": ["/api/users"]}

    answer = _reload_capturing(tab, page.reload)

    sent = parse_qs(urlsplit(answer.url).query)
    assert sent["method"] == ["GET"]
    assert sent["granularity"] == ["day"]
    assert sent["endpoint"] == ["/api/users"]
    assert page.input_value("#endpoint") == "/api/users"
    assert page.input_value("#method") == "GET"
    assert all(traffic_key not in request.url for request in tab.requests)
    assert tab.api_requests()
    for request in tab.api_requests():
        assert request.all_headers()["x-api-key"] == traffic_key
    assert tab.console_errors == []


def test_endpoint_table_sorts_by_the_chosen_column(traffic_key: str, tab: Tab) -> None:
    tab.sign_in(traffic_key, "?range=all&top=25")
    page = tab.page
    header = page.locator('#endpoints-table th[data-key="p95_time"]')

    header.locator("button").click()
    descending = [_shown_number(t) for t in _column(tab, "endpoints-table", 4)]
    header.locator("button").click()
    ascending = [_shown_number(t) for t in _column(tab, "endpoints-table", 4)]

    assert len(descending) > 1
    assert descending == sorted(descending, reverse=True)
    assert header.get_attribute("aria-sort") == "ascending"
    assert ascending == sorted(ascending)
    assert tab.console_errors == []


def test_picking_an_endpoint_in_the_table_filters_the_dashboard(
    server: RunningServer, traffic_key: str, tab: Tab
) -> None:
    tab.sign_in(traffic_key, "?range=all")
    page = tab.page

    answer = _reload_capturing(
        tab, lambda: page.get_by_role("button", name="/api/orders", exact=True).click()
    )

    assert parse_qs(urlsplit(answer.url).query)["endpoint"] == ["/api/orders"]
    dashboard = _same_as_server(server, traffic_key, answer)
    assert _column(tab, "endpoints-table", 1) == ["/api/orders"]
    _assert_cards_show(tab, dashboard["summary"])
    assert tab.console_errors == []


def test_text_from_the_api_is_shown_as_text_never_run(traffic_key: str, tab: Tab) -> None:
    tab.sign_in(traffic_key, "?range=all&top=100")
    page = tab.page

    assert MARKUP_ENDPOINT in _column(tab, "endpoints-table", 1)
    assert page.title() == "API analytics"
    assert page.locator('img[src="x"]').count() == 0
    assert tab.console_errors == []


def _wait_for_logs(tab: Tab) -> None:
    expect(tab.page.locator("#log-summary")).to_have_text(LOGS_SHOWN, timeout=WAIT_MS)


def _shown_ids(tab: Tab) -> list[int]:
    return [int(text) for text in _column(tab, "logs-table", 1)]


def test_explorer_filters_pages_and_downloads_csv(
    server: RunningServer, traffic_key: str, tab: Tab
) -> None:
    tab.sign_in(traffic_key, "?view=logs&log_limit=25")
    page = tab.page
    _wait_for_logs(tab)
    page.select_option("#log-method", "POST")
    page.fill("#log-min", "50")
    page.get_by_role("button", name="Search").click()
    _wait_for_logs(tab)
    filters = "method=POST&min_process_time=50"

    first = server.get(f"/raw_logs?{filters}&limit=25", traffic_key)
    assert _shown_ids(tab) == [row["id"] for row in first]
    assert set(_column(tab, "logs-table", 3)) == {"POST"}
    page.get_by_role("button", name="Older →").click()
    _wait_for_logs(tab)
    second = server.get(f"/raw_logs?{filters}&limit=25&before_id={first[-1]['id']}", traffic_key)
    assert _shown_ids(tab) == [row["id"] for row in second]
    assert set(_shown_ids(tab)).isdisjoint(row["id"] for row in first)
    page.get_by_role("button", name="← Newer").click()
    _wait_for_logs(tab)
    assert _shown_ids(tab) == [row["id"] for row in first]
    tab.screenshot("explorer-desktop")

    with page.expect_download() as started:
        page.get_by_role("button", name="Download CSV").click()
    download = started.value
    content = Path(download.path()).read_bytes().decode()

    assert download.url.startswith("blob:")
    assert download.suggested_filename.endswith(".csv")
    expected = server.get(f"/raw_logs?{filters}&limit=1000", traffic_key, accept="text/csv")
    assert content == expected
    rows = list(csv.DictReader(io.StringIO(content)))
    assert len(rows) > 25
    assert {row["method"] for row in rows} == {"POST"}
    assert parse_qs(urlsplit(page.url).query)["log_method"] == ["POST"]
    assert all(traffic_key not in request.url for request in tab.requests)
    assert tab.console_errors == []


def test_a_wrong_key_gets_a_clear_message_and_is_not_kept(tab: Tab) -> None:
    tab.open()
    page = tab.page
    page.fill("#api-key", "ak_000000000000_not-a-real-key")

    page.click("#sign-in-button")

    error = page.locator("#sign-in-error")
    error.wait_for(state="visible")
    assert "not valid for this server" in error.inner_text()
    assert page.evaluate("sessionStorage.length") == 0
    assert page.locator("#app").is_hidden()
    tab.screenshot("sign-in-wrong-key")
    assert all(any(s in e for s in REJECTED_KEY_LOGS) for e in tab.console_errors)


def _ingest_only_key(server: RunningServer, full_key: str) -> str:
    """A write-only key under `full_key`: from POST /keys/ingest where the server has it."""
    response = httpx.post(
        f"{server.base_url}/keys/ingest", headers={"X-API-Key": full_key}, timeout=10
    )
    if response.status_code not in {404, 405}:
        assert response.status_code in {200, 201}, response.text
        return str(response.json()["api_key"])
    # No endpoint for it: issue one in the server's own database, as `analytics demo` does.
    container = container_for(Settings(database_url=server.database_url))
    start_storage(container)
    try:
        owner = container.authenticate_key().execute(full_key)
        return container.generate_key().execute(KeyScope.INGEST, owner).api_key
    finally:
        container.release_storage()


def test_an_ingest_only_key_is_told_it_cannot_read(
    server: RunningServer, traffic_key: str, tab: Tab
) -> None:
    ingest_key = _ingest_only_key(server, traffic_key)
    tab.open()

    tab.page.fill("#api-key", ingest_key)
    tab.page.click("#sign-in-button")

    error = tab.page.locator("#sign-in-error")
    error.wait_for(state="visible")
    assert "ingest-only key" in error.inner_text()
    assert tab.page.evaluate("sessionStorage.length") == 0
    assert all(any(s in e for s in REJECTED_KEY_LOGS) for e in tab.console_errors)


def test_a_key_without_traffic_shows_how_to_send_some(server: RunningServer, tab: Tab) -> None:
    tab.sign_in(server.new_key())

    empty = tab.page.locator("#empty-state")
    assert empty.is_visible()
    assert tab.page.locator("#dashboard-content").is_hidden()
    assert tab.page.locator("#snippet").inner_text().splitlines() == [
        "from client_middleware import AnalyticsMiddleware",
        "app = FastAPI()",
        'app.add_middleware(AnalyticsMiddleware, api_key="YOUR_API_KEY", '
        f'api_base="{server.base_url}")',
    ]
    tab.screenshot("empty-state")
    assert tab.console_errors == []


def test_filters_matching_nothing_are_not_mistaken_for_no_traffic(
    traffic_key: str, tab: Tab
) -> None:
    tab.sign_in(traffic_key, "?range=all&method=TRACE")

    assert tab.page.locator("#no-match").is_visible()
    assert tab.page.locator("#empty-state").is_hidden()
    tab.page.get_by_role("button", name="Show all time, no filters").click()
    tab.wait_until_loaded()
    assert tab.page.locator("#dashboard-content").is_visible()
    assert tab.console_errors == []


def test_auto_refresh_asks_again_every_30_seconds(traffic_key: str, tab: Tab) -> None:
    tab.page.clock.install()
    tab.sign_in(traffic_key)
    tab.page.check("#auto-refresh")
    assert parse_qs(urlsplit(tab.page.url).query)["refresh"] == ["1"]

    with tab.page.expect_response(_is_dashboard):
        tab.page.clock.run_for(31_000)

    tab.page.uncheck("#auto-refresh")
    asked = len([r for r in tab.requests if _is_dashboard(r)])
    tab.page.clock.run_for(61_000)
    assert len([r for r in tab.requests if _is_dashboard(r)]) == asked
    assert tab.console_errors == []


def test_signing_out_forgets_the_key(traffic_key: str, tab: Tab) -> None:
    tab.sign_in(traffic_key)

    tab.page.click("#sign-out")

    assert tab.page.evaluate("sessionStorage.length") == 0
    assert tab.page.locator("#sign-in").is_visible()
    assert tab.page.locator('.card[data-metric="total_requests"] .card-value').inner_text() == ""
    assert tab.console_errors == []


def test_keyboard_reaches_every_control(traffic_key: str, tab: Tab) -> None:
    tab.sign_in(traffic_key, "?range=all")
    page = tab.page
    page.focus(".skip-link")  # the first stop, where a person pressing Tab starts

    reached: list[str] = []
    for _ in range(40):
        page.keyboard.press("Tab")
        reached.append(
            page.evaluate("document.activeElement.id || document.activeElement.className")
        )

    for control in ["sign-out", "range", "granularity", "endpoint", "method", "top"]:
        assert control in reached, control
    assert {"auto-refresh", "refresh", "tab-overview", "sort-button", "link-button"} <= set(reached)
    page.focus("#tab-overview")
    page.keyboard.press("ArrowRight")
    assert page.evaluate("document.activeElement.id") == "tab-logs"
    assert page.locator("#explorer").is_visible()
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none"


def test_phone_width_fits_the_screen(server: RunningServer, demo_key: str, phone_tab: Tab) -> None:
    answer = _sign_in_capturing(phone_tab, demo_key, "?range=all")
    page = phone_tab.page

    _assert_cards_show(phone_tab, _same_as_server(server, demo_key, answer)["summary"])
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    phone_tab.screenshot("overview-demo-phone")
    page.click("#tab-logs")
    _wait_for_logs(phone_tab)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    phone_tab.screenshot("explorer-phone")
    assert phone_tab.console_errors == []
