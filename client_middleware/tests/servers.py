"""Real uvicorn servers on 127.0.0.1 for the tests: in a thread, or in a subprocess."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import httpx
import uvicorn

REPO_ROOT = Path(__file__).resolve().parents[2]


def bound_socket() -> socket.socket:
    """A TCP socket bound to a free port on 127.0.0.1 and not listening yet.

    Connections to it are refused until a server listens on it: a "server down" that can
    come back on the very same address.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


def free_port() -> int:
    with contextlib.closing(socket.socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def url_of(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://{host}:{port}"


class ThreadedServer:
    """uvicorn serving `app` in a thread of this process (lifespan on), on `sock`."""

    def __init__(self, app: Any, sock: socket.socket | None = None, root_path: str = "") -> None:
        self.sock = sock or bound_socket()
        self.url = url_of(self.sock)
        self._server = uvicorn.Server(
            uvicorn.Config(
                app, lifespan="on", log_level="warning", access_log=False, root_path=root_path
            )
        )
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self.sock]}, daemon=True
        )

    def start(self) -> ThreadedServer:
        self._thread.start()
        deadline = time.monotonic() + 20
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(30)

    def __enter__(self) -> ThreadedServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


@contextlib.contextmanager
def uvicorn_process(
    app: str, port: int, env: dict[str, str] | None = None, extra: Sequence[str] = ()
) -> Iterator[subprocess.Popen[bytes]]:
    """`python -m uvicorn app` in a subprocess (repo root on the path), until SIGTERM."""
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", app, "--host", "127.0.0.1", "--port", str(port),
         "--log-level", "warning", "--no-access-log", *extra],
        cwd=REPO_ROOT,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT), **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        wait_until_serving(f"http://127.0.0.1:{port}", process)
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if process.stdout is not None:
            process.stdout.close()


def wait_until_serving(
    url: str, process: subprocess.Popen[bytes] | None = None, probe: str = "/"
) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            output = process.stdout.read().decode() if process.stdout else ""
            raise RuntimeError(f"server exited with {process.returncode}:\n{output}")
        try:
            httpx.get(url + probe, timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.05)
    raise RuntimeError(f"{url} did not start serving")


def stop_with_sigterm(process: subprocess.Popen[bytes], timeout: float = 30) -> str:
    """SIGTERM, wait for the exit, return what the process printed."""
    process.send_signal(signal.SIGTERM)
    process.wait(timeout)
    return process.stdout.read().decode() if process.stdout else ""
