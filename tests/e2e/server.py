"""`analytics serve` as a real process on a free loopback port, for end-to-end tests."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

STARTUP_SECONDS = 60
STOP_SECONDS = 20


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def analytics_command() -> list[str]:
    """The `analytics` console script of this environment."""
    script = Path(sys.executable).parent / "analytics"
    if script.exists():
        return [str(script)]
    found = shutil.which("analytics")
    if found is None:
        pytest.fail("the `analytics` command is not installed (run `uv sync`)")
    return [found]


def clean_environment(**extra: str) -> dict[str, str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("ANALYTICS_")}
    return {**environment, **extra}


@dataclass
class RunningServer:
    base_url: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")


def _wait_until_healthy(server: RunningServer, startup_seconds: float) -> None:
    deadline = time.monotonic() + startup_seconds
    while time.monotonic() < deadline and server.process.poll() is None:
        try:
            if httpx.get(f"{server.base_url}/health", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    pytest.fail(f"`analytics serve` did not become healthy; its output:\n{server.output()}")


def stop(server: RunningServer) -> int:
    """SIGTERM, as a process manager stops it; its exit code."""
    if server.process.poll() is None:
        server.process.send_signal(signal.SIGTERM)
    try:
        return server.process.wait(timeout=STOP_SECONDS)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait(timeout=5)
        pytest.fail(f"`analytics serve` did not stop on SIGTERM; its output:\n{server.output()}")


@contextmanager
def serving(
    database_url: str,
    log_path: Path,
    *extra_args: str,
    environment: Mapping[str, str] = {},
    startup_seconds: float = STARTUP_SECONDS,
) -> Iterator[RunningServer]:
    """`analytics serve` on a free port until the block ends (stopped even if it fails).

    `environment` adds variables (e.g. ANALYTICS_* settings) to a clean environment;
    `startup_seconds` is how long it may take to answer /health.
    """
    port = free_port()
    command = [
        *analytics_command(),
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--database-url",
        database_url,
        *extra_args,
    ]
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, env=clean_environment(**environment)
        )
    server = RunningServer(f"http://127.0.0.1:{port}", process, log_path)
    try:
        _wait_until_healthy(server, startup_seconds)
        yield server
    finally:
        stop(server)
