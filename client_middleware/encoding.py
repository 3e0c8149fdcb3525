"""Raw records to the JSON body of `POST /track/batch`, built by hand for speed.

This runs for every request the app serves, so it is written for CPU: each log is one
f-string, the strings that repeat (endpoint, client address, User-Agent) are escaped once and
cached, and numbers are written as integers (formatting a float costs several times more):
`process_time` as whole microseconds with an exponent, `123456e-3` (milliseconds, a plain
JSON number). Text is escaped by the json module's own C escaper, so the output is JSON any
parser reads as the standard library would.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from json.encoder import encode_basestring_ascii
from typing import Any

from client_middleware import recorder as field
from client_middleware.client_ip import ClientAddresses
from client_middleware.recorder import RawRecord
from client_middleware.routes import EndpointResolver

# The server's own limits: a record outside them would make it refuse the whole batch (422).
SENDABLE_METHODS = frozenset(
    {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT"}
)
MAX_TEXT_LENGTH = 2048
MAX_PROCESS_TIME_MS = 86_400_000.0
_MAX_PROCESS_TIME_US = int(MAX_PROCESS_TIME_MS * 1000)
_USER_AGENT = b"user-agent"
_CACHE_LIMIT = 4096
_NULL = "null"


def json_string(text: str | None) -> str:
    """A JSON string literal (or null), at most MAX_TEXT_LENGTH characters of `text`."""
    if text is None:
        return _NULL
    return encode_basestring_ascii(text[:MAX_TEXT_LENGTH])


class BoundedCache(dict[Any, str]):
    """A dict that empties itself when full: the working set (a few endpoints, clients and
    user agents) refills it at once, and a flood of distinct values cannot grow it."""

    def put(self, key: Any, value: str) -> str:
        if len(self) >= _CACHE_LIMIT:
            self.clear()
        self[key] = value
        return value


class LogEncoder:
    """Turns raw records into JSON log objects. Used by one thread at a time."""

    def __init__(
        self,
        addresses: ClientAddresses,
        endpoints: EndpointResolver,
        app: Callable[[], Any],
    ) -> None:
        self._addresses = addresses
        self._endpoints = endpoints
        self._app = app
        # The date-and-time prefix of `created_at` and the second (in microseconds since the
        # epoch) it is for.
        self._second_start = self._second_end = -1
        self._prefix = ""
        self._endpoint_json = BoundedCache()
        self._ip_json = BoundedCache()
        self._user_agent_json = BoundedCache()

    def logs(self, records: Iterable[RawRecord]) -> list[str]:
        """One JSON object per sendable record (the server would refuse the others).

        The loop is written out (locals, no helper calls on the common path) because it runs
        once per request the app serves.
        """
        encoded: list[str] = []
        append = encoded.append
        escape = encode_basestring_ascii
        endpoint_json = self._endpoint_json
        user_agent_json = self._user_agent_json
        ip_json = self._ip_json
        ip_from_headers = self._addresses.reads_headers
        second_start, second_end, prefix = self._second_start, self._second_end, self._prefix
        for record in records:
            (
                created_at, method, path, status_code, duration, route_id, path_format,
                root_path, mounted_root_path, host, headers, consumer,
            ) = record  # fmt: skip
            process_time_us = int(duration * 1_000_000 + 0.5)
            if (
                method not in SENDABLE_METHODS
                or not 100 <= status_code <= 599
                or not 0 <= process_time_us <= _MAX_PROCESS_TIME_US
                or duration < 0
            ):
                continue
            microseconds = int(created_at * 1_000_000)
            if not second_start <= microseconds < second_end:  # the prefix changes each second
                second = microseconds // 1_000_000
                second_start, second_end = second * 1_000_000, (second + 1) * 1_000_000
                prefix = time.strftime('{"created_at":"%Y-%m-%dT%H:%M:%S.', time.gmtime(second))
            endpoint = endpoint_json.get((route_id, path_format, root_path, mounted_root_path))
            if endpoint is None:
                endpoint = self._endpoint(record)
            if ip_from_headers:
                ip = json_string(self._addresses.of(host, headers))
            else:
                ip = ip_json.get(host) or self._ip(host)
            user_agent = _NULL
            for name, value in headers:
                if name == _USER_AGENT:
                    user_agent = user_agent_json.get(value) or self._user_agent(value)
                    break
            if len(path) > MAX_TEXT_LENGTH:
                path = path[:MAX_TEXT_LENGTH]
            append(
                f'{prefix}{str(microseconds)[-6:]}Z","method":"{method}","endpoint":{endpoint},'
                f'"path":{escape(path)},"ip":{ip},"process_time":{process_time_us}e-3,'
                f'"status_code":{status_code},"user_agent":{user_agent},'
                f'"consumer":{_NULL if consumer is None else json_string(consumer)}}}'
            )
        self._second_start, self._second_end, self._prefix = second_start, second_end, prefix
        return encoded

    def _endpoint(self, record: RawRecord) -> str:
        endpoint, cacheable = self._endpoints.endpoint(
            self._app(),
            record[field.ROUTE_ID],
            record[field.ROUTE_PATH_FORMAT],
            record[field.ROOT_PATH],
            record[field.MOUNTED_ROOT_PATH],
            record[field.PATH],
            record[field.STATUS],
        )
        if not cacheable:
            return json_string(endpoint)
        key = (
            record[field.ROUTE_ID],
            record[field.ROUTE_PATH_FORMAT],
            record[field.ROOT_PATH],
            record[field.MOUNTED_ROOT_PATH],
        )
        return self._endpoint_json.put(key, json_string(endpoint))

    def _ip(self, host: str | None) -> str:
        return self._ip_json.put(host, json_string(self._addresses.of(host, ())))

    def _user_agent(self, value: bytes) -> str:
        return self._user_agent_json.put(value, json_string(value.decode("latin-1")))


def batch_body(logs: list[str], batch_id: str, dropped: int) -> bytes:
    """The request body: `{"logs": [...], "batch_id": "...", "dropped": n}` (ASCII JSON)."""
    return (
        f'{{"logs":[{",".join(logs)}],"batch_id":"{batch_id}","dropped":{int(dropped)}}}'
    ).encode("ascii")
