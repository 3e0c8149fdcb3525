"""The endpoint of each request is its route template, whatever way the route was added."""

from __future__ import annotations

import httpx
import pytest

from client_middleware import AnalyticsMiddleware
from client_middleware.routes import UNMATCHED_ENDPOINT, template_pattern
from client_middleware.tests.apps import route_zoo
from client_middleware.tests.collector import Collector
from client_middleware.tests.servers import ThreadedServer

# (method, path requested, endpoint expected)
ZOO_REQUESTS = [
    ("GET", "/items/7", "/items/{item_id}"),
    ("GET", "/items/not-a-number", "/items/{item_id}"),  # 422, still that route
    ("POST", "/items", "/items"),
    ("DELETE", "/items", "/items"),  # 405: the path matched, the method did not
    ("GET", "/api/outer/users/3/orders/9", "/api/outer/users/{user_id}/orders/{order_id}"),
    ("GET", "/api/outer/v2/inner/things/abc", "/api/outer/v2/inner/things/{thing_id}"),
    ("GET", "/v1/status", "/v1/status"),
    ("GET", "/v2/status", "/v2/status"),  # the same router included twice
    ("GET", "/sub/reports/5", "/sub/reports/{report_id}"),
    ("GET", "/orgs/acme/pages/about", "/orgs/{org}/pages/{page}"),
    ("GET", "/inc/legacy/home", "/inc/legacy/{page}"),
    ("GET", "/static/hello.txt", "/static/{path}"),
    ("GET", "/no/such/path", UNMATCHED_ENDPOINT),
    ("GET", "/sub/no-such-report", UNMATCHED_ENDPOINT),
    ("GET", "/static/missing.txt", UNMATCHED_ENDPOINT),
]


def endpoints_recorded(
    collector: tuple[Collector, str], api_key: str, root_path: str = ""
) -> dict[tuple[str, str], str]:
    store, url = collector
    app = route_zoo()
    app.add_middleware(AnalyticsMiddleware, api_key=api_key, api_base=url, flush_interval=60)
    with ThreadedServer(app, root_path=root_path) as host:
        for method, path, _ in ZOO_REQUESTS:
            httpx.request(method, host.url + path)
    # The server's shutdown flushed everything.
    return {(log["method"], log["path"]): log["endpoint"] for log in store.logs(api_key)}


def test_every_kind_of_route_is_named_by_its_template(shared_collector, api_key):
    recorded = endpoints_recorded(shared_collector, api_key)

    assert recorded == {(method, path): endpoint for method, path, endpoint in ZOO_REQUESTS}


def test_root_path_prefixes_the_template_and_path(shared_collector, api_key):
    recorded = endpoints_recorded(shared_collector, api_key, root_path="/proxied")

    expected = {
        (method, "/proxied" + path): (
            endpoint if endpoint == UNMATCHED_ENDPOINT else "/proxied" + endpoint
        )
        for method, path, endpoint in ZOO_REQUESTS
    }
    assert recorded == expected


@pytest.mark.parametrize(
    ("template", "path", "fits"),
    [
        ("/v1/status", "/v1/status", True),
        ("/v1/status", "/v2/status", False),
        ("/orgs/{org}/pages/{page}", "/orgs/acme/pages/about", True),
        ("/files/{file_path}", "/files/a/b/c.txt", True),
        ("/a.b/{x}", "/aXb/1", False),
    ],
)
def test_template_pattern_tells_which_template_a_path_fits(template, path, fits):
    assert (template_pattern(template).fullmatch(path) is not None) is fits
