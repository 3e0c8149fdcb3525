"""What gets recorded for each kind of request, through both middleware flavours."""

from __future__ import annotations

import gc
import threading
import time

import httpx
import pytest
from fastapi import Request
from fastapi.responses import PlainTextResponse

from client_middleware.tests.apps import AppFailure, behaviour_app
from client_middleware.tests.hosting import FLAVOURS, serving

pytestmark = pytest.mark.parametrize("flavour", FLAVOURS)


def test_statuses_methods_and_client_details_are_recorded(flavour, shared_collector, api_key):
    store, url = shared_collector
    app = behaviour_app()

    with serving(app, flavour, api_key=api_key, api_base=url) as host:
        httpx.get(host.url + "/ok", headers={"user-agent": "probe/1.0"})
        httpx.get(host.url + "/teapot")
        httpx.head(host.url + "/ok")
        httpx.get(host.url + "/missing")

    logs = {(log["method"], log["path"]): log for log in store.logs(api_key)}
    assert {key: log["status_code"] for key, log in logs.items()} == {
        ("GET", "/ok"): 200,
        ("GET", "/teapot"): 418,
        ("HEAD", "/ok"): 405,
        ("GET", "/missing"): 404,
    }
    ok = logs[("GET", "/ok")]
    assert (ok["endpoint"], ok["ip"], ok["user_agent"]) == ("/ok", "127.0.0.1", "probe/1.0")
    assert ok["process_time"] >= 0


def test_an_exception_is_recorded_as_500_and_reaches_the_error_handler_untouched(
    flavour, shared_collector, api_key
):
    store, url = shared_collector
    app = behaviour_app()
    seen: list[BaseException] = []

    async def last_resort(request: Request, error: Exception) -> PlainTextResponse:
        seen.append(error)
        return PlainTextResponse("handled", status_code=500)

    app.add_exception_handler(Exception, last_resort)  # runs outside the middleware

    with serving(app, flavour, api_key=api_key, api_base=url) as host:
        response = httpx.get(host.url + "/crash")

    assert response.status_code == 500
    assert len(seen) == 1
    assert type(seen[0]) is AppFailure
    assert seen[0].args == ("on purpose",)
    assert [(log["path"], log["status_code"]) for log in store.logs(api_key)] == [("/crash", 500)]


def test_a_streamed_response_is_timed_to_its_last_chunk(flavour, shared_collector, api_key):
    store, url = shared_collector

    with serving(behaviour_app(), flavour, api_key=api_key, api_base=url) as host:
        body = httpx.get(host.url + "/stream").text

    assert body.count("chunk") == 3
    (log,) = store.logs(api_key)
    assert log["process_time"] >= 300  # three chunks, 100 ms apart


def test_a_background_task_is_not_counted_in_the_response_time(flavour, shared_collector, api_key):
    store, url = shared_collector
    release = threading.Event()

    with serving(behaviour_app(release), flavour, api_key=api_key, api_base=url) as host:
        asked = time.perf_counter()
        httpx.get(host.url + "/background")
        answered = time.perf_counter()
        time.sleep(0.3)  # the background task is still waiting
        release.set()

    (log,) = store.logs(api_key)
    # Measured up to the final body message, hence within what the client itself waited.
    assert log["process_time"] <= (answered - asked) * 1000


def test_excluded_paths_are_not_recorded(flavour, shared_collector, api_key):
    store, url = shared_collector

    with serving(
        behaviour_app(), flavour, api_key=api_key, api_base=url, exclude_paths=["/o*"]
    ) as host:
        httpx.get(host.url + "/ok")
        httpx.get(host.url + "/teapot")

    assert [log["path"] for log in store.logs(api_key)] == ["/teapot"]


def test_the_consumer_callback_names_who_called(flavour, shared_collector, api_key):
    store, url = shared_collector

    def consumer(request: Request) -> str | None:
        return request.headers.get("x-client")

    with serving(
        behaviour_app(), flavour, api_key=api_key, api_base=url, consumer=consumer
    ) as host:
        httpx.get(host.url + "/ok", headers={"x-client": "mobile-app"})
        httpx.get(host.url + "/teapot")

    consumers = {log["path"]: log["consumer"] for log in store.logs(api_key)}
    assert consumers == {"/ok": "mobile-app", "/teapot": None}


def test_a_failing_consumer_callback_costs_the_field_not_the_request(
    flavour, shared_collector, api_key
):
    store, url = shared_collector

    def consumer(request: Request) -> str:
        raise RuntimeError("bug in the callback")

    with serving(
        behaviour_app(), flavour, api_key=api_key, api_base=url, consumer=consumer
    ) as host:
        status = httpx.get(host.url + "/ok").status_code

    assert status == 200
    assert [log["consumer"] for log in store.logs(api_key)] == [None]


def test_full_batches_are_sent_as_they_fill_and_the_rest_at_shutdown(
    flavour, shared_collector, api_key
):
    store, url = shared_collector
    with serving(
        behaviour_app(), flavour, api_key=api_key, api_base=url, batch_size=5,
        flush_interval=3600,
    ) as host:  # fmt: skip
        for number in range(12):
            httpx.get(f"{host.url}/n/{number}")
        # No timed flush for an hour: only full batches go now (where they are encoded, on
        # the app's loop or the thread, is test_loop_encoding.py's business).
        full = store.wait_for_logs(api_key, 10)
        assert len(full) == 10
        assert host.tracker.unsent() == 2

    paths = sorted(log["path"] for log in store.logs(api_key))
    assert paths == sorted(f"/n/{number}" for number in range(12))  # each exactly once
    assert [len(batch["logs"]) for batch in store.batches_of(api_key)] == [5, 5, 2]


def test_disabled_middleware_records_nothing_and_starts_no_thread(
    flavour, shared_collector, api_key
):
    store, url = shared_collector
    threads_before = {thread.name for thread in threading.enumerate()}

    with serving(behaviour_app(), flavour, api_key=api_key, api_base=url, enabled=False) as host:
        assert httpx.get(host.url + "/ok").status_code == 200
        senders = [t for t in threading.enumerate() if t.name == "analytics-sender"]

    assert store.logs(api_key) == []
    assert "analytics-sender" in threads_before or senders == []


def test_recorded_requests_are_not_tracked_by_the_garbage_collector(flavour, api_key):
    """Buffered records must not make the app's garbage collections slower."""
    app = behaviour_app()
    # No server to send to and no flush for a minute: the record stays in the buffer.
    with serving(
        app, flavour, api_key=api_key, api_base="http://127.0.0.1:9", flush_interval=60,
        shutdown_timeout=0,
    ) as host:  # fmt: skip
        httpx.get(host.url + "/ok", headers={"user-agent": "probe"})
        (record,) = list(host.tracker.buffer._records)
        # A tuple is untracked at a collection once all it holds is untracked; the inner
        # (name, value) header tuples go first, the record at a later collection (and a
        # gc.collect() racing a collection in a server thread does nothing), hence a few.
        for _ in range(5):
            if not gc.is_tracked(record):
                break
            gc.collect()
        assert not gc.is_tracked(record)
