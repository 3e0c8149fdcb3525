"""How long does the web page /ui take to show its numbers over a big database?

Loads synthetic traffic as bench/dashboard.py does (or reuses a file it kept with --keep),
starts `analytics serve`, signs in once in headless Chromium (Debian's /usr/bin/chromium,
driven by Playwright), then times full page loads of /ui for a few views: from navigation
start until the status line says "Updated" and the total-requests card shows a number (the
page has fetched /dashboard and drawn cards, charts and tables). Median of several loads,
after a warm-up load; and the CPU time one load costs, the browser's processes and the
server's together (on a busy machine the wall time is mostly waiting for a CPU).

    uv run python bench/ui.py --size 100k
    uv run python bench/ui.py --size 10M --keep /tmp/dashboards   # a file kept by dashboard.py

Target (issue 5): under a second on a 10 M-event database. Not a test: prints a table.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import statistics
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from common import DATA_END, RunningServer, TrafficModel, bulk_load, print_table, serving
from dashboard import database_for, parse_size
from playwright.sync_api import expect, sync_playwright

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"]
LOADED = re.compile(r"^Updated ")
WAIT_MS = 60_000
_OFF_THE_HOUR = DATA_END - timedelta(minutes=17)


def _custom(start: datetime, end: datetime) -> str:
    # The page reads from/to in the browser's zone; the browser below runs in UTC.
    return f"?range=custom&from={start:%Y-%m-%dT%H:%M}&to={end:%Y-%m-%dT%H:%M}"


VIEWS = {
    "all time": "?range=all",
    "last 24 h": _custom(DATA_END - timedelta(days=1), DATA_END),
    "24 h off the hour": _custom(_OFF_THE_HOUR - timedelta(days=1), _OFF_THE_HOUR),
    "last 7 days": _custom(DATA_END - timedelta(days=7), DATA_END),
}


def main() -> None:
    arguments = parse_arguments()
    if not CHROMIUM.exists():
        raise SystemExit(f"no Chromium at {CHROMIUM} (apt-get install -y chromium)")
    with (
        tempfile.TemporaryDirectory(prefix="analytics-bench-") as directory,
        database_for("sqlite", Path(directory), arguments.size, arguments.keep) as (
            database,
            fresh,
        ),
    ):
        if fresh:
            bulk_load(database, TrafficModel().logs(arguments.size))
        with serving(database.url) as server, sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            try:
                rows = measure(browser, server, database.api_key, arguments.runs)
            finally:
                browser.close()
    print(f"\n/ui over {arguments.size:,} stored logs (median of {arguments.runs} loads):\n")
    print_table(("view", "page load ms", "CPU ms per load", "console errors"), rows)


def measure(browser: Any, server: RunningServer, api_key: str, runs: int) -> list[tuple[str, ...]]:
    base_url = server.base_url
    context = browser.new_context(timezone_id="UTC", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on(
        "console", lambda message: errors.append(message.text) if message.type == "error" else None
    )
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"{base_url}/ui?range=all")
    page.fill("#api-key", api_key)  # kept in sessionStorage for the loads below
    page.click("#sign-in-button")
    wait_for_numbers(page)
    rows = []
    for name, query in VIEWS.items():
        errors.clear()
        load(page, f"{base_url}/ui{query}")  # warm-up
        cpu_before = server.cpu_ns() + browser_cpu_ns()
        durations = [load(page, f"{base_url}/ui{query}") for _ in range(runs)]
        cpu_ms = (server.cpu_ns() + browser_cpu_ns() - cpu_before) / runs / 1e6
        median_ms = statistics.median(durations) * 1000
        rows.append((name, f"{median_ms:.0f}", f"{cpu_ms:.0f}", str(len(errors))))
        print(f"{name}: {median_ms:.0f} ms, {cpu_ms:.0f} ms CPU", flush=True)
    context.close()
    return rows


def load(page: Any, url: str) -> float:
    began = time.perf_counter()
    page.goto(url)
    wait_for_numbers(page)
    return time.perf_counter() - began


def browser_cpu_ns() -> int:
    """CPU time used so far by this process's descendants named chromium (the browser's
    processes, started by Playwright's driver), in nanoseconds."""
    parents: dict[int, int] = {}
    names: dict[int, str] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:  # the process ended meanwhile
            continue
        pid = int(text.split(" ", 1)[0])
        names[pid] = text[text.index("(") + 1 : text.rindex(")")]
        parents[pid] = int(text[text.rindex(")") + 2 :].split()[1])
    total = 0
    for pid, name in names.items():
        if "chrom" in name and _descends_from(pid, os.getpid(), parents):
            with contextlib.suppress(OSError):
                tasks = Path(f"/proc/{pid}/task").glob("*/schedstat")
                total += sum(int(task.read_text().split()[0]) for task in tasks)
    return total


def _descends_from(pid: int, ancestor: int, parents: dict[int, int]) -> bool:
    while pid > 1:
        pid = parents.get(pid, 0)
        if pid == ancestor:
            return True
    return False


def wait_for_numbers(page: Any) -> None:
    # Locator assertions, not wait_for_function: the page's CSP forbids the eval it uses.
    expect(page.locator("#status")).to_have_text(LOADED, timeout=WAIT_MS)
    total = page.locator('[data-metric="total_requests"] .card-value')
    expect(total).to_have_text(re.compile(r"\d"), timeout=WAIT_MS)


def parse_arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=parse_size, default=100_000, help="stored logs, e.g. 10M")
    parser.add_argument("--runs", type=int, default=5, help="timed page loads per view")
    parser.add_argument(
        "--keep", type=Path, help="directory of SQLite files kept by bench/dashboard.py --keep"
    )
    return parser.parse_args()


if __name__ == "__main__":
    main()
