"""Raw records to the JSON body of `POST /track/batch`, built by hand for speed.

This runs for every request the app serves, so it is written for CPU. Requests repeat, so
everything of a log but its two times (method, endpoint, path, address, status, User-Agent,
consumer) is built once as text and cached by what it is made of; per record there is one
lookup and one f-string holding the times. Numbers are written as integers (formatting a
float costs several times more): `process_time` as whole microseconds with an exponent,
`123456e-3` (milliseconds, a plain JSON number). Text is escaped by the json module's own C
escaper, so the output is JSON any parser reads as the standard library would.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from json.encoder import encode_basestring_ascii
from typing import Any

from client_middleware import recorder as field
from client_middleware.client_ip import ClientAddresses
from client_middleware.recorder import CREATED_AT, DESCRIPTION, DURATION, HEADERS, RawRecord
from client_middleware.routes import EndpointResolver

# The server's own limits: a record outside them would make it refuse the whole batch (422).
SENDABLE_METHODS = frozenset(
    {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT"}
)
MAX_TEXT_LENGTH = 2048
MAX_PROCESS_TIME_MS = 86_400_000.0
_MAX_PROCESS_TIME_S = MAX_PROCESS_TIME_MS / 1000
_USER_AGENT = b"user-agent"
_CACHE_LIMIT = 4096
_NULL = "null"
# What the endpoint depends on: the route (its id and path format) and the root paths.
_ENDPOINT_KEY = slice(field.ROUTE_ID, field.MOUNTED_ROOT_PATH + 1)


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
        # Everything of a log but its two clock readings, by what it is made from: requests
        # repeat, so most logs are one lookup plus the two numbers.
        self._fragments = BoundedCache()
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
        fragments = self._fragments
        # With trusted proxies the address comes from X-Forwarded-For, so the headers decide.
        by_headers = self._addresses.reads_headers
        second_start, second_end, prefix = self._second_start, self._second_end, self._prefix
        description, created_at, duration_at, headers_at = (
            DESCRIPTION,
            CREATED_AT,
            DURATION,
            HEADERS,
        )
        for record in records:
            headers = record[headers_at]
            if by_headers:
                distinct = headers
            else:  # only the User-Agent of the headers goes into a log
                distinct = None
                for name, value in headers:
                    if name == _USER_AGENT:
                        distinct = value
                        break
            key = (record[description], distinct)
            fragment = fragments.get(key)
            if fragment is None:
                fragment = self._fragment(key, record)
            duration = record[duration_at]
            if not fragment or not 0.0 <= duration <= _MAX_PROCESS_TIME_S:
                continue  # the server would refuse it (method, status or time out of range)
            microseconds = int(record[created_at] * 1_000_000)
            if not second_start <= microseconds < second_end:  # the prefix changes each second
                second = microseconds // 1_000_000
                second_start, second_end = second * 1_000_000, (second + 1) * 1_000_000
                prefix = time.strftime('{"created_at":"%Y-%m-%dT%H:%M:%S.', time.gmtime(second))
            append(
                f'{prefix}{str(microseconds)[-6:]}Z",{fragment}'
                f'"process_time":{int(duration * 1_000_000 + 0.5)}e-3}}'
            )
        self._second_start, self._second_end, self._prefix = second_start, second_end, prefix
        return encoded

    def _fragment(self, key: tuple[Any, ...], record: RawRecord) -> str:
        """The log's fields but `created_at` and `process_time`, each followed by a comma;
        "" for a record the server would refuse whatever its times."""
        method, status_code = record[field.METHOD], record[field.STATUS]
        if method not in SENDABLE_METHODS or not 100 <= status_code <= 599:
            return ""
        endpoint = self._endpoint_json.get(record[_ENDPOINT_KEY])
        lasting = True  # whether the fragment may be cached (see _endpoint)
        if endpoint is None:
            endpoint, lasting = self._endpoint(record)
        host, headers = record[field.CLIENT_HOST], record[HEADERS]
        if self._addresses.reads_headers:
            ip = json_string(self._addresses.of(host, headers))
        else:
            ip = self._ip_json.get(host) or self._ip(host)
        user_agent = _NULL
        for name, value in headers:
            if name == _USER_AGENT:
                user_agent = self._user_agent_json.get(value) or self._user_agent(value)
                break
        fragment = (
            f'"method":"{method}","endpoint":{endpoint},"path":{json_string(record[field.PATH])},'
            f'"ip":{ip},"status_code":{status_code},"user_agent":{user_agent},'
            f'"consumer":{json_string(record[field.CONSUMER])},'
        )
        return self._fragments.put(key, fragment) if lasting else fragment

    def _endpoint(self, record: RawRecord) -> tuple[str, bool]:
        """The endpoint as JSON, and whether a fragment holding it may be cached: not when
        it may change (a route the tree walk has not found yet falls back to its own path
        format) nor for an unmatched path (404), which seldom comes back."""
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
            path_format = record[field.ROUTE_PATH_FORMAT]
            return json_string(endpoint), path_format is None and record[field.STATUS] != 404
        return self._endpoint_json.put(record[_ENDPOINT_KEY], json_string(endpoint)), True

    def _ip(self, host: str | None) -> str:
        return self._ip_json.put(host, json_string(self._addresses.of(host, ())))

    def _user_agent(self, value: bytes) -> str:
        return self._user_agent_json.put(value, json_string(value.decode("latin-1")))


def batch_body(logs: list[str], batch_id: str, dropped: int) -> bytes:
    """The request body: `{"logs": [...], "batch_id": "...", "dropped": n}` (ASCII JSON)."""
    return (
        f'{{"logs":[{",".join(logs)}],"batch_id":"{batch_id}","dropped":{int(dropped)}}}'
    ).encode("ascii")
