"""The client middleware against the real server: `analytics serve` on a SQLite file, a real
client app under uvicorn with the middleware, real traffic, the client stopped with SIGTERM;
then /raw_logs and /dashboard must hold exactly the requests that were made."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from client_middleware.batch import BATCH_PATH, new_batch
from client_middleware.loop_delivery import LoopDelivery
from client_middleware.routes import UNMATCHED_ENDPOINT
from client_middleware.tests.servers import (
    REPO_ROOT,
    ThreadedServer,
    stop_with_sigterm,
    wait_until_serving,
)
from tests.e2e.server import free_port, serving

CLIENT_APP = "client_middleware.tests.e2e_app:create_app"
Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    status_code: int
    endpoint: str
    user_agent: str = "e2e-agent/1.0"
    consumer: str | None = None


TRAFFIC = [
    Call("GET", "/items/7", 200, "/items/{item_id}", consumer="mobile"),
    Call("GET", "/items/8", 200, "/items/{item_id}", user_agent="other-agent/2"),
    Call("GET", "/items/not-a-number", 422, "/items/{item_id}"),
    Call("POST", "/items", 200, "/items", consumer="web"),
    Call("DELETE", "/items", 405, "/items"),
    Call("GET", "/api/outer/users/3/orders/9", 200, "/api/outer/users/{user_id}/orders/{order_id}"),
    Call("GET", "/api/outer/v2/inner/things/x", 200, "/api/outer/v2/inner/things/{thing_id}"),
    Call("GET", "/v1/status", 200, "/v1/status"),
    Call("GET", "/v2/status", 200, "/v2/status"),
    Call("GET", "/sub/reports/5", 200, "/sub/reports/{report_id}"),
    Call("GET", "/orgs/acme/pages/about", 200, "/orgs/{org}/pages/{page}"),
    Call("GET", "/inc/legacy/home", 200, "/inc/legacy/{page}"),
    Call("GET", "/static/hello.txt", 200, "/static/{path}"),
    Call("GET", "/no/such/page", 404, UNMATCHED_ENDPOINT),
    Call("GET", "/teapot", 418, "/teapot"),
    Call("GET", "/crash", 500, "/crash"),
    Call("GET", "/crash", 500, "/crash", consumer="web"),
    Call("GET", "/stream", 200, "/stream"),
    Call("GET", "/background", 200, "/background"),
    *[Call("GET", f"/n/{number}", 200, "/n/{number}") for number in range(25)],
]


def start_client_app(flavour: str, api_key: str, api_base: str) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "FLAVOUR": flavour,
           "ANALYTICS_TEST_KEY": api_key, "API_BASE": api_base}  # fmt: skip
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", CLIENT_APP, "--factory", "--host", "127.0.0.1",
         "--port", str(port), "--log-level", "warning"],
        cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    wait_until_serving(url, process, probe="/health")
    return process, url


def make_traffic(url: str) -> None:
    # A connection per request: uvicorn closes a connection after an unhandled exception.
    no_keepalive = httpx.Limits(max_keepalive_connections=0)
    with httpx.Client(base_url=url, timeout=30, limits=no_keepalive) as client:
        for call in TRAFFIC:
            headers = {"user-agent": call.user_agent}
            if call.consumer is not None:
                headers["x-client"] = call.consumer
            response = client.request(call.method, call.path, headers=headers)
            assert response.status_code == call.status_code, (call, response.text)


@pytest.mark.parametrize("flavour", ["asgi", "function"])
def test_the_server_holds_exactly_the_requests_the_client_app_served(
    flavour: str, tmp_path: Path
) -> None:
    with serving(f"sqlite:///{tmp_path / 'analytics.db'}", tmp_path / "server.log") as server:
        key = httpx.post(f"{server.base_url}/generate_key").json()["api_key"]
        client_app, url = start_client_app(flavour, key, server.base_url)
        try:
            make_traffic(url)
        finally:
            client_output = stop_with_sigterm(client_app)

        headers = {"X-API-Key": key}
        raw_logs = httpx.get(f"{server.base_url}/raw_logs", params={"limit": 1000},
                             headers=headers).json()  # fmt: skip
        dashboard = httpx.get(f"{server.base_url}/dashboard", params={"top": 100},
                              headers=headers).json()  # fmt: skip

    assert_raw_logs_match(raw_logs, client_output)
    assert_dashboard_matches(dashboard)


class LosingProxy:
    """Forwards each batch to the real server, but answers the first `lose` of them with 503 as
    if the server's acknowledgement had been lost on the way back: the batch IS stored."""

    def __init__(self, upstream: str, lose: int) -> None:
        self.upstream = upstream
        self.lose = lose
        self.forwarded: list[tuple[str, int]] = []  # (batch_id, the server's status)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            message = await receive()
            while message["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
                message = await receive()
            await send({"type": "lifespan.shutdown.complete"})
            return
        body, more = b"", True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        headers = {k.decode(): v.decode() for k, v in scope["headers"] if k.lower() != b"host"}
        async with httpx.AsyncClient(base_url=self.upstream, timeout=30) as client:
            answer = await client.post(scope["path"], content=body, headers=headers)
        self.forwarded.append((json.loads(body)["batch_id"], answer.status_code))
        status = answer.status_code
        if len(self.forwarded) <= self.lose:
            status = 503
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"application/json")]})  # fmt: skip
        await send({"type": "http.response.body", "body": answer.content})


def test_lost_acknowledgements_store_each_batch_once_on_the_real_server(tmp_path: Path) -> None:
    with serving(f"sqlite:///{tmp_path / 'analytics.db'}", tmp_path / "server.log") as server:
        key = httpx.post(f"{server.base_url}/generate_key").json()["api_key"]
        proxy = LosingProxy(server.base_url, lose=3)
        with ThreadedServer(proxy) as relay:
            client_app, url = start_client_app("asgi", key, relay.url)
            try:
                make_traffic(url)
            finally:
                client_output = stop_with_sigterm(client_app)
        raw_logs = httpx.get(f"{server.base_url}/raw_logs", params={"limit": 1000},
                             headers={"X-API-Key": key}).json()  # fmt: skip

    batch_ids = [batch_id for batch_id, _ in proxy.forwarded]
    assert len(set(batch_ids[:3])) == 1  # the same batch, sent again after each lost answer
    assert all(status < 300 for _, status in proxy.forwarded)  # the server took every attempt
    assert_raw_logs_match(raw_logs, client_output)  # ...and stored each request once


def assert_raw_logs_match(raw_logs: list[dict], client_output: str) -> None:
    stored = Counter(
        (log["method"], log["path"], log["status_code"], log["endpoint"], log["user_agent"],
         log["consumer"], log["ip"])
        for log in raw_logs
    )  # fmt: skip
    made = Counter(
        (call.method, call.path, call.status_code, call.endpoint, call.user_agent,
         call.consumer, "127.0.0.1")
        for call in TRAFFIC
    )  # fmt: skip
    assert stored == made, client_output
    assert all(log["process_time"] >= 0 for log in raw_logs)


def assert_dashboard_matches(dashboard: dict) -> None:
    errors = [call for call in TRAFFIC if call.status_code >= 400]
    summary = dashboard["summary"]
    assert summary["total_requests"] == len(TRAFFIC)
    assert summary["unique_ips"] == 1
    assert summary["error_rate"] == round(100 * len(errors) / len(TRAFFIC), 2)
    assert dashboard["method_usage"] == dict(Counter(call.method for call in TRAFFIC))
    assert dashboard["status_codes"] == {
        str(status): count for status, count in Counter(c.status_code for c in TRAFFIC).items()
    }
    assert dashboard["top_ips"] == [{"ip": "127.0.0.1", "requests": len(TRAFFIC)}]
    per_endpoint = {
        row["endpoint"]: (row["requests"], row["errors_count"])
        for row in dashboard["endpoint_stats"]
    }
    assert per_endpoint == {
        endpoint: (
            sum(1 for call in TRAFFIC if call.endpoint == endpoint),
            sum(1 for call in errors if call.endpoint == endpoint),
        )
        for endpoint in {call.endpoint for call in TRAFFIC}
    }


def test_the_loops_connection_delivers_to_the_real_server_and_stays_open(tmp_path: Path) -> None:
    """What the app's loop sends full batches over: the real server's answers are read whole
    (their length), so one connection carries every batch, and each batch is stored once."""
    with serving(f"sqlite:///{tmp_path / 'analytics.db'}", tmp_path / "server.log") as server:
        key = httpx.post(f"{server.base_url}/generate_key").json()["api_key"]
        delivery = LoopDelivery(server.base_url, key, BATCH_PATH, timeout=10)
        log = {"created_at": "2026-12-06T12:00:00+00:00", "method": "GET", "endpoint": "/a",
               "path": "/a", "ip": "10.0.0.1", "process_time": 1.5, "status_code": 200}  # fmt: skip
        batches = [new_batch([json.dumps({**log, "path": f"/a/{n}"})] * 2, 0) for n in range(3)]

        async def post_all() -> list[Any]:
            return [await delivery.post(batch.body) for batch in batches]

        answers = asyncio.run(post_all())
        connections = delivery.connections_opened
        again = asyncio.run(post_all())  # the same batch ids again: stored once
        raw_logs = httpx.get(f"{server.base_url}/raw_logs", params={"limit": 100},
                             headers={"X-API-Key": key}).json()  # fmt: skip

    assert [answer.status for answer in answers + again] == [202] * 6, answers
    assert connections == 1  # for the three batches of the first loop
    assert sorted(row["path"] for row in raw_logs) == sorted(["/a/0", "/a/1", "/a/2"] * 2)
