"""The sender's HTTP: one kept-alive connection to the server, from the standard library.

Why not httpx: a POST of a 500-log batch through `httpx.Client` cost about 1.9 million
instructions on top of the body, `http.client` about 0.4 million (bench, callgrind): per
request the app serves that is ~3,000 instructions less on a thread that shares the GIL with
it. The sender needs little of a general client: one host, POST, a timeout per attempt,
keep-alive, TLS, and a proxy when the environment names one (`HTTPS_PROXY`, `HTTP_PROXY`,
`NO_PROXY`, as httpx and urllib read them). Through a proxy, an https server is reached in a
CONNECT tunnel; a plain-http one by sending the proxy the request with the absolute URL, as
proxies expect (many allow CONNECT to port 443 only).
"""

from __future__ import annotations

import base64
import http.client
import socket
import ssl
import urllib.parse
import urllib.request
from dataclasses import dataclass


class TransportError(Exception):
    """The request did not get an answer: connection refused or lost, time-out, bad TLS..."""


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    retry_after: str | None
    text: str


@dataclass(frozen=True, slots=True)
class ServerAddress:
    """Where `api_base` points."""

    https: bool
    host: str
    port: int
    base_path: str  # without a trailing slash
    authority: str  # host[:port] without user info: the Host header's value
    proxy: urllib.parse.SplitResult | None  # the one the environment names, if any


def server_address(api_base: str) -> ServerAddress:
    url = urllib.parse.urlsplit(api_base)
    if url.scheme not in ("http", "https") or not url.hostname:
        raise ValueError(f"api_base must be an http(s) URL, not {api_base!r}")
    https = url.scheme == "https"
    return ServerAddress(
        https,
        url.hostname,
        url.port or (443 if https else 80),
        url.path.rstrip("/"),
        url.netloc.rpartition("@")[2],
        proxy_for(url.scheme, url.hostname),
    )


class ServerConnection:
    """POSTs to `{api_base}{path}` over one connection, reopened when it is lost.

    Used by one thread (the sender) only.
    """

    def __init__(self, api_base: str, headers: dict[str, str]) -> None:
        server = server_address(api_base)
        self._https = server.https
        self._host = server.host
        self._port = server.port
        self._proxy = server.proxy
        self._headers = headers
        self._target_prefix = server.base_path
        if self._proxy is not None and not self._https:  # forwarded, not tunnelled
            self._headers = {**headers, **_proxy_headers(self._proxy)}
            self._target_prefix = f"http://{server.authority}{server.base_path}"
        self._tls = ssl.create_default_context() if self._https else None
        self._connection: http.client.HTTPConnection | None = None

    def post(self, path: str, body: bytes, timeout: float) -> Answer:
        try:
            return self._post(path, body, timeout)
        except ConnectionError:
            # A kept-alive connection the server closed meanwhile fails at once: one more
            # try on a new one. (A batch may arrive twice; its batch_id makes that harmless.)
            return self._post(path, body, timeout)

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def _post(self, path: str, body: bytes, timeout: float) -> Answer:
        reused = self._connection is not None
        try:
            connection = self._connection or self._connect(timeout)
            self._connection = connection
            if connection.sock is not None:
                connection.sock.settimeout(timeout)
            target = self._target_prefix + path
            connection.request("POST", target, body=body, headers=self._headers)
            response = connection.getresponse()
            text = response.read()
        except (OSError, http.client.HTTPException) as error:
            self.close()
            if reused and isinstance(error, (ConnectionError, http.client.RemoteDisconnected)):
                raise ConnectionError(str(error)) from error
            raise TransportError(f"{type(error).__name__}: {error}") from error
        if response.will_close:
            self.close()
        return Answer(
            response.status,
            response.getheader("retry-after"),
            text.decode("utf-8", "replace"),
        )

    def _connect(self, timeout: float) -> http.client.HTTPConnection:
        proxy = self._proxy
        if proxy is None:
            host, port = self._host, self._port
        else:
            host, port = proxy.hostname or "", proxy.port or 80
        if self._tls is not None:
            connection: http.client.HTTPConnection = http.client.HTTPSConnection(
                host, port, timeout=timeout, context=self._tls
            )
        else:
            connection = http.client.HTTPConnection(host, port, timeout=timeout)
        if proxy is not None and self._https:
            connection.set_tunnel(self._host, self._port, headers=_proxy_headers(proxy))
        connection.connect()
        connection.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return connection


def proxy_for(scheme: str, host: str) -> urllib.parse.SplitResult | None:
    """The proxy the environment names for this scheme and host, if any."""
    proxy = urllib.request.getproxies().get(scheme)
    if not proxy or urllib.request.proxy_bypass(host):
        return None
    if "://" not in proxy:
        proxy = "http://" + proxy
    return urllib.parse.urlsplit(proxy)


def _proxy_headers(proxy: urllib.parse.SplitResult) -> dict[str, str]:
    if proxy.username is None:
        return {}
    credentials = f"{urllib.parse.unquote(proxy.username)}:"
    credentials += urllib.parse.unquote(proxy.password or "")
    token = base64.b64encode(credentials.encode("utf-8")).decode("ascii")
    return {"Proxy-Authorization": f"Basic {token}"}
