"""Raw records to the JSON body of `POST /track/batch`, built by hand for speed.

This runs for every request the app serves, so it is written for CPU: each log is one
f-string, and the strings that repeat (endpoint, client address, User-Agent) are escaped once
and cached. Values are escaped by the json module's own C escaper, so the output is JSON the
standard library would also produce, byte for byte apart from spacing.
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
        # The time-of-day prefix of `created_at` and the second it is for.
        self._second = -1
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
        second, prefix = self._second, self._prefix
        for record in records:
            (
                created_at, method, path, status_code, duration, route_id, path_format,
                root_path, mounted_root_path, host, headers, consumer,
            ) = record  # fmt: skip
            process_time = duration * 1000
            if (
                method not in SENDABLE_METHODS
                or not 100 <= status_code <= 599
                or not 0 <= process_time <= MAX_PROCESS_TIME_MS
            ):
                continue
            microseconds = int(created_at * 1_000_000)
            if microseconds // 1_000_000 != second:  # the date and time change once a second
                second = microseconds // 1_000_000
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
                f'{prefix}{str(microseconds - second * 1_000_000 + 1_000_000)[1:]}Z",'
                f'"method":"{method}","endpoint":{endpoint},"path":{escape(path)},"ip":{ip},'
                f'"process_time":{process_time:.3f},"status_code":{status_code},'
                f'"user_agent":{user_agent},'
                f'"consumer":{_NULL if consumer is None else json_string(consumer)}}}'
            )
        self._second, self._prefix = second, prefix
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
