"""Raw records to the JSON body of `POST /track/batch`, built by hand for speed.

This runs for every request the app serves, on the app's loop between requests (full batches)
or on the sender thread that shares the GIL with it, so it is written for instructions per
record. Requests repeat, so everything of a log but
its two times (method, endpoint, path, address, status, User-Agent, consumer) is built once as
text and cached by what it is made of; per record there is one dict lookup and one f-string
holding the times. Numbers are written as integers (formatting a float costs several times
more): `process_time` as whole microseconds with an exponent, `123456e-3` (milliseconds, a
plain JSON number), `created_at`'s microseconds from a table of three-digit strings. Text is
escaped by the json module's own C escaper, so the output is JSON any parser reads as the
standard library would.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from json.encoder import encode_basestring_ascii
from math import floor
from typing import Any

from client_middleware import recorder as field
from client_middleware.client_ip import ClientAddresses
from client_middleware.options import TrackingOptions
from client_middleware.recorder import CREATED_AT, DESCRIPTION, DURATION, HEADERS, RawRecord
from client_middleware.routes import EndpointResolver

logger = logging.getLogger("client_middleware")

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
# "000" to "999": a microsecond count within a second is written as two of these (cheaper
# than formatting it zero-padded, or an integer's digits sliced).
_THREE_DIGITS = tuple(f"{number:03d}" for number in range(1000))


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
        # The second `created_at` falls in, as microseconds since the epoch [start, end), and
        # the text of `created_at` up to its microseconds.
        self._second: tuple[float, float, str] = (-1.0, -1.0, "")
        # Everything of a log but its two clock readings, by what it is made from: requests
        # repeat, so most logs are one lookup plus the two numbers. A plain dict (not a
        # subclass), which the interpreter indexes fastest; bounded where entries are added.
        self._fragments: dict[Any, str] = {}
        self._endpoint_json = BoundedCache()
        self._ip_json = BoundedCache()
        self._user_agent_json = BoundedCache()

    @classmethod
    def for_options(cls, options: TrackingOptions, app: Callable[[], Any]) -> LogEncoder:
        """An encoder with its own route index and the options' client address rules."""
        return cls(
            ClientAddresses(options.ip_privacy, options.trusted_proxies), EndpointResolver(), app
        )

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
        start, end, prefix = self._second
        description, headers_at, digits = DESCRIPTION, HEADERS, _THREE_DIGITS
        user_agent = _USER_AGENT
        for record in records:
            headers = record[headers_at]
            if by_headers:
                distinct = headers
            else:  # only the User-Agent of the headers goes into a log
                distinct = None
                for name, value in headers:
                    if name == user_agent:
                        distinct = value
                        break
            key = (record[description], distinct)
            try:
                fragment = fragments[key]
            except KeyError:
                fragment = self._fragment(key, record)
            duration = record[DURATION]
            # Left out: what the server would refuse (method, status or time out of range).
            if fragment and 0.0 <= duration <= _MAX_PROCESS_TIME_S:
                microseconds = record[CREATED_AT] * 1e6
                if not start <= microseconds < end:  # the prefix changes each second
                    start, end, prefix = _second_of(microseconds)
                # Exact (Sterbenz): the two are within a factor of two of each other.
                within = floor(microseconds - start)
                append(
                    f"{prefix}{digits[within // 1000]}{digits[within % 1000]}{fragment}"
                    f"{floor(duration * 1e6 + 0.5)}e-3}}"
                )
        self._second = start, end, prefix
        return encoded

    def _fragment(self, key: tuple[Any, ...], record: RawRecord) -> str:
        """The log's text between `created_at`'s digits and `process_time`'s (the fields but
        those two); "" for a record the server would refuse whatever its times."""
        method, status_code = record[field.METHOD], record[field.STATUS]
        if method not in SENDABLE_METHODS or not 100 <= status_code <= 599:
            return self._remember(key, "")
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
            f'Z","method":"{method}","endpoint":{endpoint},'
            f'"path":{json_string(record[field.PATH])},"ip":{ip},"status_code":{status_code},'
            f'"user_agent":{user_agent},"consumer":{json_string(record[field.CONSUMER])},'
            '"process_time":'
        )
        return self._remember(key, fragment) if lasting else fragment

    def _remember(self, key: tuple[Any, ...], fragment: str) -> str:
        if len(self._fragments) >= _CACHE_LIMIT:  # as BoundedCache does
            self._fragments.clear()
        self._fragments[key] = fragment
        return fragment

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


def _second_of(microseconds: float) -> tuple[float, float, str]:
    """The second (as microseconds since the epoch) holding `microseconds`, as [start, end),
    and the text of `created_at` up to its microseconds."""
    second = floor(microseconds) // 1_000_000
    start = second * 1e6
    prefix = time.strftime('{"created_at":"%Y-%m-%dT%H:%M:%S.', time.gmtime(second))
    return start, start + 1e6, prefix


def encode_records(encoder: LogEncoder, records: list[RawRecord]) -> list[str]:
    """`encoder.logs(records)`; if the batch fails, record by record, skipping what fails."""
    try:
        return encoder.logs(records)
    except Exception:  # an odd record
        logger.debug("analytics: could not encode a batch at once", exc_info=True)
    logs = []
    for record in records:
        try:
            logs += encoder.logs([record])
        except Exception:
            logger.debug("analytics: could not encode a request record", exc_info=True)
    return logs


def batch_body(logs: list[str], batch_id: str, dropped: int) -> bytes:
    """The request body: `{"logs": [...], "batch_id": "...", "dropped": n}` (ASCII JSON)."""
    return (
        f'{{"logs":[{",".join(logs)}],"batch_id":"{batch_id}","dropped":{int(dropped)}}}'
    ).encode("ascii")
