"""Storage going away and coming back, against `analytics serve`.

PostgreSQL is made unreachable by a loopback TCP proxy between the server and PostgreSQL,
which the test closes (every connection dropped, new ones refused) and opens again on the
same port. SQLite gets a full disk: its file lives on a small tmpfs the test mounts (which
needs root: skipped with the reason otherwise) and fills with a file, then deletes.
Either way ingest answers 503 with Retry-After, /health says 503, and once storage is
back the same server takes logs again: every acknowledged batch stored exactly once.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy.engine import make_url

from tests.contract.backends import postgres_schema_url, require_postgres_url
from tests.e2e.bodies import SEED_LOG, batch_body
from tests.e2e.server import RunningServer, free_port, serving

BATCH = 1000  # large enough to need new pages in SQLite's write-ahead log every time
RECOVERY_S = 30


class TcpProxy:
    """Forwards 127.0.0.1:`port` to `target`; `close()` drops everything, `open()` resumes."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = free_port()
        self._listener: socket.socket | None = None
        self._connections: list[socket.socket] = []
        self._lock = threading.Lock()

    def open(self) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def close(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            _close(listener)
        with self._lock:
            connections, self._connections = self._connections, []
        for connection in connections:
            _close(connection)

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # closed
            try:
                upstream = socket.create_connection(self.target)
            except OSError:
                _close(client)
                continue
            with self._lock:
                self._connections += [client, upstream]
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=_pump, args=(source, sink), daemon=True).start()


def _pump(source: socket.socket, sink: socket.socket) -> None:
    try:
        while chunk := source.recv(65536):
            sink.sendall(chunk)
    except OSError:
        pass
    finally:
        _close(source)
        _close(sink)


def _close(connection: socket.socket) -> None:
    # shutdown first: it also wakes a thread blocked in accept() on a listener, which a
    # bare close() would leave accepting.
    with contextlib.suppress(OSError):
        connection.shutdown(socket.SHUT_RDWR)
    connection.close()


class Sender:
    """Posts batches of distinct logs and counts the acknowledged ones."""

    def __init__(self, server: RunningServer) -> None:
        self.base_url = server.base_url
        response = httpx.post(f"{self.base_url}/generate_key", timeout=30)
        assert response.status_code == 201, response.text
        self.headers = {"X-API-Key": response.json()["api_key"]}
        self.acknowledged = 0
        self._sent = 0

    def send(self) -> httpx.Response:
        logs = [{**SEED_LOG, "path": f"/n/{self._sent + i}"} for i in range(BATCH)]
        self._sent += BATCH
        response = httpx.post(
            f"{self.base_url}/track/batch",
            content=json.dumps(batch_body(logs)),
            headers={**self.headers, "Content-Type": "application/json"},
            timeout=30,
        )
        if response.status_code == 202:
            self.acknowledged += BATCH
        return response

    def health(self) -> int:
        return httpx.get(f"{self.base_url}/health", timeout=30).status_code

    def stored(self) -> int:
        response = httpx.get(f"{self.base_url}/dashboard", headers=self.headers, timeout=30)
        assert response.status_code == 200, response.text
        return int(response.json()["summary"]["total_requests"])

    def send_until_accepted(self) -> httpx.Response:
        """What a client middleware does: retry after Retry-After until it is taken."""
        deadline = time.monotonic() + RECOVERY_S
        while True:
            response = self.send()
            if response.status_code == 202 or time.monotonic() > deadline:
                return response
            time.sleep(0.5)


def assert_unavailable(response: httpx.Response, reason: str) -> None:
    assert response.status_code == 503, response.text
    assert int(response.headers["Retry-After"]) > 0
    assert reason in response.json()["detail"]


@pytest.mark.postgres
def test_postgres_unreachable_is_503_and_the_server_recovers_by_itself(tmp_path: Path) -> None:
    with postgres_schema_url(require_postgres_url()) as direct_url:
        url = make_url(direct_url)
        proxy = TcpProxy((url.host or "127.0.0.1", url.port or 5432))
        proxy.open()
        proxied = url.set(host="127.0.0.1", port=proxy.port)
        try:
            with serving(
                proxied.render_as_string(hide_password=False), tmp_path / "server.log"
            ) as server:
                sender = Sender(server)
                assert sender.send().status_code == 202

                proxy.close()
                assert_unavailable(sender.send(), "storage unavailable")
                assert_unavailable(sender.send(), "storage unavailable")  # new connections
                assert sender.health() == 503

                proxy.open()
                assert sender.send_until_accepted().status_code == 202
                assert sender.health() == 200
                assert sender.stored() == sender.acknowledged == 2 * BATCH
        finally:
            proxy.close()


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 4 MiB tmpfs (needs the right to mount, e.g. root)."""
    mount_point = tmp_path / "disk"
    mount_point.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mount_point)],
        capture_output=True,
        text=True,
    )
    if mounted.returncode != 0:
        pytest.skip(f"a full disk needs a small tmpfs, and mounting one failed: {mounted.stderr}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "--lazy", str(mount_point)], check=False)


def fill(directory: Path) -> Path:
    filler = directory / "filler"
    descriptor = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        while True:
            os.write(descriptor, b"\0" * 65536)
    except OSError:
        pass  # ENOSPC, and then smaller writes until not one byte is left
    try:
        while True:
            os.write(descriptor, b"\0")
    except OSError:
        pass
    finally:
        os.close(descriptor)
    return filler


def test_sqlite_on_a_full_disk_is_503_and_the_server_recovers_by_itself(
    small_disk: Path, tmp_path: Path
) -> None:
    with serving(f"sqlite:///{small_disk / 'analytics.db'}", tmp_path / "server.log") as server:
        sender = Sender(server)
        assert sender.send().status_code == 202

        filler = fill(small_disk)
        assert_unavailable(sender.send(), "database or disk is full")
        assert sender.health() == 503

        filler.unlink()
        assert sender.send_until_accepted().status_code == 202
        assert sender.health() == 200
        assert sender.stored() == sender.acknowledged == 2 * BATCH
