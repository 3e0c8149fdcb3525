"""The sender's HTTP connection: keep-alive, reconnection, time-outs, proxies."""

from __future__ import annotations

import contextlib
import http.client
import http.server
import shutil
import socket
import ssl
import subprocess
import threading
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from client_middleware.transport import ServerConnection, TransportError, proxy_for

HEADERS = {"X-API-Key": "secret", "Content-Type": "application/json"}


class Received:
    def __init__(self) -> None:
        self.requests: list[tuple[str, str, bytes, int]] = []  # path, key, body, client port
        self.close_after_answer = False


@contextmanager
def http_server(received: Received, tls: ssl.SSLContext | None = None) -> Iterator[str]:
    """A stdlib HTTP/1.1 server answering 202 and noting what came, on which connection."""

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:  # the stdlib handler's name for POST
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.requests.append(
                (self.path, self.headers["X-API-Key"], body, self.client_address[1])
            )
            self.send_response(202)
            self.send_header("Content-Length", "2")
            self.send_header("Retry-After", "7")
            self.end_headers()
            self.wfile.write(b"ok")
            if received.close_after_answer:  # as a server whose idle time-out passed
                self.close_connection = True

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"{'https' if tls else 'http'}://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def connect_proxy() -> Iterator[tuple[str, list[bytes]]]:
    """A CONNECT-only proxy: notes each request head, then relays bytes both ways."""
    heads: list[bytes] = []
    listener = socket.create_server(("127.0.0.1", 0))

    def relay(source: socket.socket, target: socket.socket) -> None:
        # Either end may go first; then the other direction's relay stops on its error.
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                target.sendall(data)
        with contextlib.suppress(OSError):
            target.shutdown(socket.SHUT_WR)  # not close(): the other relay still reads it

    def serve() -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            head = b""
            while b"\r\n\r\n" not in head:
                head += client.recv(4096)
            heads.append(head)
            host, port = head.split()[1].decode().rsplit(":", 1)
            upstream = socket.create_connection((host, int(port)))
            client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            threading.Thread(target=relay, args=(client, upstream), daemon=True).start()
            threading.Thread(target=relay, args=(upstream, client), daemon=True).start()

    threading.Thread(target=serve, daemon=True).start()
    try:
        yield f"http://user:pa%20ss@127.0.0.1:{listener.getsockname()[1]}", heads
    finally:
        listener.close()


@contextmanager
def forwarding_proxy() -> Iterator[tuple[str, list[tuple[str, str | None]]]]:
    """A plain-HTTP proxy: notes each request line and Proxy-Authorization, then sends the
    request on to the absolute URL it names and relays the answer."""
    seen: list[tuple[str, str | None]] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:  # the stdlib handler's name for POST
            seen.append((self.requestline, self.headers["Proxy-Authorization"]))
            body = self.rfile.read(int(self.headers["Content-Length"]))
            target = urllib.parse.urlsplit(self.path)
            upstream = http.client.HTTPConnection(target.hostname, target.port, timeout=5)
            forwarded = {"X-API-Key": self.headers["X-API-Key"]}
            upstream.request("POST", target.path, body=body, headers=forwarded)
            answer = upstream.getresponse()
            text = answer.read()
            upstream.close()
            self.send_response(answer.status)
            self.send_header("Content-Length", str(len(text)))
            self.end_headers()
            self.wfile.write(text)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://user:pa%20ss@127.0.0.1:{server.server_address[1]}", seen
    finally:
        server.shutdown()
        server.server_close()


def self_signed_tls(tmp_path: Path) -> tuple[Path, ssl.SSLContext]:
    """A certificate for 127.0.0.1 (skips without the openssl command) and a server context."""
    if shutil.which("openssl") is None:
        pytest.skip("needs the openssl command to make a certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(cert, key)
    return cert, tls


@pytest.fixture(autouse=True)
def no_proxy_from_the_machine(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)


def test_posts_go_to_the_base_path_with_the_headers_over_one_kept_alive_connection():
    received = Received()
    with http_server(received) as url:
        connection = ServerConnection(url + "/analytics", HEADERS)
        first = connection.post("/track/batch", b'{"n":1}', timeout=5)
        second = connection.post("/track/batch", b'{"n":2}', timeout=5)
        connection.close()

    assert (first.status, first.retry_after, first.text) == (202, "7", "ok")
    assert second.status == 202
    assert [r[:3] for r in received.requests] == [
        ("/analytics/track/batch", "secret", b'{"n":1}'),
        ("/analytics/track/batch", "secret", b'{"n":2}'),
    ]
    assert received.requests[0][3] == received.requests[1][3]  # the same client port


def test_a_connection_the_server_closed_is_reopened_and_the_post_arrives_once():
    received = Received()
    received.close_after_answer = True
    with http_server(received) as url:
        connection = ServerConnection(url, HEADERS)
        answers = [connection.post("/track/batch", f"{n}".encode(), 5).status for n in range(3)]
        connection.close()

    assert answers == [202, 202, 202]
    assert [r[2] for r in received.requests] == [b"0", b"1", b"2"]
    assert len({r[3] for r in received.requests}) == 3  # a new connection each time


def test_https_verifies_the_servers_certificate(tmp_path, monkeypatch):
    cert, tls = self_signed_tls(tmp_path)
    received = Received()
    with http_server(received, tls) as url:
        untrusting = ServerConnection(url, HEADERS)
        with pytest.raises(TransportError, match="CERTIFICATE_VERIFY_FAILED"):
            untrusting.post("/track/batch", b"{}", timeout=5)
        monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # the default context trusts it now
        trusting = ServerConnection(url, HEADERS)
        answer = trusting.post("/track/batch", b"{}", timeout=5)
        trusting.close()

    assert answer.status == 202
    assert len(received.requests) == 1


def test_a_refused_connection_is_a_transport_error():
    with socket.create_server(("127.0.0.1", 0)) as sock:
        port = sock.getsockname()[1]
    connection = ServerConnection(f"http://127.0.0.1:{port}", HEADERS)

    with pytest.raises(TransportError, match="ConnectionRefused"):
        connection.post("/track/batch", b"{}", timeout=5)


def test_a_server_that_never_answers_is_a_transport_error_after_the_timeout():
    with socket.create_server(("127.0.0.1", 0)) as silent:  # accepts, never answers
        connection = ServerConnection(f"http://127.0.0.1:{silent.getsockname()[1]}", HEADERS)

        with pytest.raises(TransportError, match="timed out"):
            connection.post("/track/batch", b"{}", timeout=0.2)


def test_an_https_server_is_reached_through_the_proxys_tunnel(tmp_path, monkeypatch):
    cert, tls = self_signed_tls(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    received = Received()
    with http_server(received, tls) as url, connect_proxy() as (proxy, heads):
        monkeypatch.setenv("HTTPS_PROXY", proxy)
        connection = ServerConnection(url, HEADERS)
        answer = connection.post("/track/batch", b"{}", timeout=5)
        connection.close()

    assert answer.status == 202
    assert len(received.requests) == 1
    target = url.removeprefix("https://").encode()
    assert heads[0].startswith(b"CONNECT " + target)
    assert b"Proxy-Authorization: Basic dXNlcjpwYSBzcw==" in heads[0]  # user:pa ss


def test_a_plain_http_server_is_reached_by_forwarding_through_the_proxy(monkeypatch):
    received = Received()
    with http_server(received) as url, forwarding_proxy() as (proxy, seen):
        monkeypatch.setenv("HTTP_PROXY", proxy)
        connection = ServerConnection(url + "/analytics", HEADERS)
        answers = [connection.post("/track/batch", b"{}", timeout=5).status for _ in range(2)]
        connection.close()

    assert answers == [202, 202]
    assert [r[:2] for r in received.requests] == [("/analytics/track/batch", "secret")] * 2
    line = f"POST {url}/analytics/track/batch HTTP/1.1"
    assert seen == [(line, "Basic dXNlcjpwYSBzcw==")] * 2  # user:pa ss


def test_no_proxy_and_an_empty_environment_mean_a_direct_connection(monkeypatch):
    assert proxy_for("https", "analytics.internal") is None

    monkeypatch.setenv("HTTPS_PROXY", "proxy.example:3128")
    monkeypatch.setenv("NO_PROXY", "analytics.internal")
    assert proxy_for("https", "analytics.internal") is None
    chosen = proxy_for("https", "elsewhere.example")
    assert chosen is not None and (chosen.hostname, chosen.port) == ("proxy.example", 3128)
