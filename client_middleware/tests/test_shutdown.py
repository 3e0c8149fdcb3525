"""Records made just before a SIGTERM arrive: the shutdown flush, through real uvicorn."""

from __future__ import annotations

import os
import subprocess
import sys

import httpx
import pytest

from client_middleware.options import resolve_options
from client_middleware.tests.collector import Collector
from client_middleware.tests.servers import (
    REPO_ROOT,
    free_port,
    stop_with_sigterm,
    wait_until_serving,
)
from client_middleware.tracker import Tracker

APP = "client_middleware.tests.shutdown_app:create_app"


def start_host(
    flavour: str, api_key: str, collector_url: str, cwd: os.PathLike | str = REPO_ROOT,
    workers: int = 1, api_base_in_dotenv: bool = False,
) -> tuple[subprocess.Popen[bytes], str]:  # fmt: skip
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "FLAVOUR": flavour,
           "ANALYTICS_TEST_KEY": api_key}  # fmt: skip
    env.pop("API_BASE", None)
    if not api_base_in_dotenv:
        env["API_BASE"] = collector_url
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", APP, "--factory", "--host", "127.0.0.1",
         "--port", str(port), "--workers", str(workers), "--log-level", "warning"],
        cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    wait_until_serving(url, process)
    return process, url


@pytest.mark.parametrize("flavour", ["asgi", "function"])
def test_sigterm_flushes_what_was_recorded_just_before(flavour, shared_collector, api_key):
    store, collector_url = shared_collector
    process, url = start_host(flavour, api_key, collector_url)
    try:
        with httpx.Client() as client:
            for number in range(25):
                assert client.get(f"{url}/n/{number}").status_code == 200
        assert store.logs(api_key) == [log for log in store.logs(api_key) if log is None]
    finally:
        output = stop_with_sigterm(process)

    assert paths_of(store, api_key) == sorted(f"/n/{number}" for number in range(25)), output
    assert {log["endpoint"] for log in store.logs(api_key) if log["path"] != "/"} == {"/n/{number}"}


def test_the_seed_call_reads_api_base_from_a_dotenv_file(shared_collector, api_key, tmp_path):
    store, collector_url = shared_collector
    (tmp_path / ".env").write_text(f"API_BASE={collector_url}\n")
    process, url = start_host(
        "function", api_key, collector_url, cwd=tmp_path, api_base_in_dotenv=True
    )
    try:
        httpx.get(f"{url}/n/1")
    finally:
        output = stop_with_sigterm(process)

    assert paths_of(store, api_key) == ["/n/1"], output


def test_each_of_several_workers_flushes_its_own_records(shared_collector, api_key):
    store, collector_url = shared_collector
    process, url = start_host("asgi", api_key, collector_url, workers=2)
    served_by: dict[int, int] = {}
    try:
        for number in range(60):  # new connections: the kernel spreads them over workers
            pid = httpx.get(f"{url}/n/{number}").json()["pid"]
            served_by[pid] = served_by.get(pid, 0) + 1
    finally:
        output = stop_with_sigterm(process)

    assert paths_of(store, api_key) == sorted(f"/n/{number}" for number in range(60)), output
    assert sum(served_by.values()) == 60


def test_a_forked_child_sends_its_own_records_and_never_its_parents(shared_collector, api_key):
    store, collector_url = shared_collector
    tracker = Tracker(resolve_options(api_key, collector_url, batch_size=1000,
                                      flush_interval=3600.0))  # fmt: skip
    tracker.start()
    for number in range(3):
        tracker.record(raw_record(f"/parent/{number}"))

    pid = os.fork()
    if pid == 0:  # the child: record, flush, report through the exit code only
        try:
            for number in range(2):
                tracker.record(raw_record(f"/child/{number}"))
            delivered = tracker.shutdown(timeout=10)
        finally:
            os._exit(0 if delivered else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0

    assert tracker.shutdown(timeout=10)
    paths = sorted(log["path"] for log in store.logs(api_key))
    assert paths == ["/child/0", "/child/1", "/parent/0", "/parent/1", "/parent/2"]


def paths_of(store: Collector, api_key: str) -> list[str]:
    """The paths stored, without the readiness probes ("/") of `wait_until_serving`."""
    return sorted(log["path"] for log in store.logs(api_key) if log["path"] != "/")


def raw_record(path: str) -> tuple:
    return (1_700_000_000.0, "GET", path, 200, 0, None, "", "", "127.0.0.1", None, 0.001, ())
