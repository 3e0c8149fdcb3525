"""The page's own logic (time buckets, URL state, chart scales), run as the browser runs it.

Each test imports the page's ES modules inside Chromium, so it checks the very code users get,
with no Node toolchain.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.conftest import CHROMIUM, NO_CHROMIUM, Tab

pytestmark = [pytest.mark.browser, pytest.mark.skipif(not CHROMIUM.exists(), reason=NO_CHROMIUM)]


def _run(tab: Tab, module: str, body: str) -> Any:
    """Evaluate `body` (an expression using `m`, the imported module) in the page."""
    tab.open()
    return tab.page.evaluate(
        f"async () => {{ const m = await import('./ui/static/js/{module}'); return {body}; }}"
    )


def test_hours_without_requests_are_filled_as_empty_buckets(tab: Tab) -> None:
    rows = '[{timestamp: "2024-02-07T10:00"}, {timestamp: "2024-02-07T13:00"}]'

    filled = _run(tab, "buckets.js", f"m.fillSeries({rows}, 'hour').map(p => [p.label, !!p.row])")

    assert filled == [
        ["2024-02-07T10:00", True],
        ["2024-02-07T11:00", False],
        ["2024-02-07T12:00", False],
        ["2024-02-07T13:00", True],
    ]


def test_a_range_extends_the_buckets_to_its_bounds(tab: Tab) -> None:
    rows = '[{timestamp: "2024-02-07T10:02", requests: 1}]'
    start = "Date.UTC(2024, 1, 7, 10, 0, 30)"
    end = "Date.UTC(2024, 1, 7, 10, 5)"  # exclusive: the last bucket is 10:04

    labels = _run(
        tab, "buckets.js", f"m.fillSeries({rows}, 'minute', {start}, {end}).map(p => p.label)"
    )

    assert labels == [f"2024-02-07T10:0{minute}" for minute in range(5)]


def test_weeks_start_on_monday_and_months_roll_over_the_year(tab: Tab) -> None:
    result = _run(
        tab,
        "buckets.js",
        """({
          sunday: m.labelOf(m.bucketStart(Date.UTC(2024, 1, 11, 23, 59), 'week'), 'week'),
          weeks: m.fillSeries([{timestamp: '2024-01-29'}, {timestamp: '2024-02-12'}], 'week')
                  .map(p => p.label),
          months: m.fillSeries([{timestamp: '2023-11'}, {timestamp: '2024-01'}], 'month')
                  .map(p => p.label),
        })""",
    )

    assert result == {
        "sunday": "2024-02-05",
        "weeks": ["2024-01-29", "2024-02-05", "2024-02-12"],
        "months": ["2023-11", "2023-12", "2024-01"],
    }


def test_rows_that_do_not_fit_the_granularity_are_drawn_as_they_come(tab: Tab) -> None:
    rows = '[{timestamp: "2024-02-07", requests: 1}, {timestamp: "2024-02-09", requests: 2}]'

    labels = _run(tab, "buckets.js", f"m.fillSeries({rows}, 'month').map(p => p.label)")

    assert labels == ["2024-02-07", "2024-02-09"]


def test_the_granularity_is_recognised_from_the_labels(tab: Tab) -> None:
    result = _run(
        tab,
        "buckets.js",
        """[
          [{timestamp: '2024-02-07T10:00'}, {timestamp: '2024-02-07T11:00'}],
          [{timestamp: '2024-02-07T10:00'}, {timestamp: '2024-02-07T10:01'}],
          [{timestamp: '2024-02-05'}, {timestamp: '2024-02-12'}],
          [{timestamp: '2024-02-05'}, {timestamp: '2024-02-06'}],
          [{timestamp: '2024-02'}],
        ].map(m.inferGranularity)""",
    )

    assert result == ["hour", "minute", "week", "day", "month"]


def test_url_state_ignores_anything_it_does_not_know(tab: Tab) -> None:
    query = (
        "?range=forever&granularity=second&method=%3Cscript%3E&top=7&from=yesterday"
        "&log_status=999&log_min=-1&log_limit=100000&view=admin&api_key=secret"
    )

    state = _run(tab, "state.js", f"m.stateFromQuery('{query}')")

    assert state["range"] == "24h"
    assert state["granularity"] == ""
    assert state["method"] == ""
    assert state["top"] == "10"
    assert state["from"] == ""
    assert state["view"] == "overview"
    assert state["logs"]["status_code"] == ""
    assert state["logs"]["min_process_time"] == ""
    assert state["logs"]["limit"] == "50"
    assert "secret" not in str(state)


def test_url_state_round_trips_and_keeps_only_what_differs(tab: Tab) -> None:
    query = (
        "?range=custom&from=2024-02-07T08%3A00&to=2024-02-08T08%3A00"
        "&method=POST&refresh=1&log_ip=10.0.0.1"
    )

    result = _run(
        tab,
        "state.js",
        f"[m.queryFromState(m.stateFromQuery('{query}')), m.queryFromState(m.DEFAULT_STATE)]",
    )

    assert result == [query, ""]


def test_custom_times_are_utc_whatever_the_browser_zone(tab: Tab) -> None:
    result = _run(
        tab,
        "state.js",
        """[
          Intl.DateTimeFormat().resolvedOptions().timeZone,
          m.utcIso('2024-02-07T08:00'),
          m.dashboardWindow(
            {range: 'custom', from: '2024-02-07T08:00', to: ''}, Date.UTC(2024, 1, 8)),
          m.rangeProblem({range: 'custom', from: '2024-02-08T00:00', to: '2024-02-07T00:00'}),
        ]""",
    )

    assert result[0] != "UTC"
    assert result[1] == "2024-02-07T08:00:00.000Z"
    assert result[2] == {
        "start": "2024-02-07T08:00:00.000Z",
        "end": "",
        "startMs": 1707292800000,
        "endMs": 1707350400000,
    }
    assert "after its end" in result[3]


@pytest.mark.parametrize(
    ("maximum", "integers", "step"),
    [(3, True, 1), (120, True, 50), (0.42, False, 0.2), (0, True, 1), (1000, True, 250)],
)
def test_chart_scales_use_round_steps(
    tab: Tab, maximum: float, integers: bool, step: float
) -> None:
    flag = "true" if integers else "false"

    assert _run(tab, "charts.js", f"m.niceStep({maximum}, 4, {flag})") == pytest.approx(step)


def test_errors_per_bucket_come_back_from_the_rate(tab: Tab) -> None:
    counts = _run(
        tab,
        "charts.js",
        """[
          {requests: 3, error_rate: 33.33}, {requests: 7, error_rate: 14.29},
          {requests: 12345, error_rate: 0.01}, {requests: 5, error_rate: 100},
          {requests: 9, error_rate: 0}
        ].map(m.errorsIn)""",
    )

    assert counts == [1, 1, 1, 5, 0]
