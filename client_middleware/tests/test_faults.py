"""Whatever the analytics server does, the host app keeps serving, memory stays bounded, and
after recovery every record that fitted in the buffer arrives exactly once."""

from __future__ import annotations

import logging
import threading
from collections import Counter

import httpx
import pytest

from client_middleware.tests.apps import behaviour_app
from client_middleware.tests.collector import Answer, Collector
from client_middleware.tests.hosting import serving
from client_middleware.tests.servers import ThreadedServer, bound_socket, url_of

# Retries come fast in these tests; the pacing itself is tested in test_retry.py.
FAST_RETRIES = {"retry_base_delay": 0.02, "max_retry_delay": 0.1}


def paths(logs: list[dict]) -> list[str]:
    return [log["path"] for log in logs]


def assert_each_arrived_once(store: Collector, api_key: str, sent: int) -> list[str]:
    """Every request is either stored once or counted as dropped; none twice."""
    arrived = paths(store.logs(api_key))
    duplicates = [path for path, count in Counter(arrived).items() if count > 1]
    assert duplicates == []
    reported_dropped = sum(batch["dropped"] for batch in store.batches_of(api_key))
    assert len(arrived) + reported_dropped == sent
    return arrived


def test_server_down_then_up_delivers_the_newest_records_and_reports_the_drops(api_key):
    sock = bound_socket()  # connections are refused until a server listens on it
    store = Collector()
    app = behaviour_app()
    max_queue, sent = 40, 100

    with serving(
        app, "asgi", api_key=api_key, api_base=url_of(sock), batch_size=10,
        flush_interval=0.05, max_queue=max_queue, **FAST_RETRIES,
    ) as host:  # fmt: skip
        statuses = [httpx.get(f"{host.url}/n/{n}").status_code for n in range(sent)]
        assert statuses == [200] * sent
        assert len(host.tracker.buffer) <= max_queue  # memory bounded during the outage

        with ThreadedServer(store, sock=sock):
            store.wait_for_path(api_key, f"/n/{sent - 1}")
            httpx.get(f"{host.url}/n/{sent}")  # after recovery, and in the next batch
            store.wait_for_path(api_key, f"/n/{sent}")
        # the analytics server is down again while the host shuts down: nothing more arrives

    arrived = assert_each_arrived_once(store, api_key, sent + 1)
    assert {f"/n/{n}" for n in range(sent - max_queue, sent + 1)} <= set(arrived)


def test_a_hanging_server_never_holds_up_the_host_app(collector, api_key):
    store, url = collector
    gate = threading.Event()
    store.default = Answer(gate=gate)  # every batch hangs until the gate opens

    with serving(
        behaviour_app(), "asgi", api_key=api_key, api_base=url, batch_size=5,
        flush_interval=0.05, timeout=30,
    ) as host:  # fmt: skip
        statuses = [httpx.get(f"{host.url}/n/{n}").status_code for n in range(50)]
        assert statuses == [200] * 50  # served while the sender waits on the analytics server
        assert len(store.logs(api_key)) == 0
        gate.set()
        store.wait_for_logs(api_key, 50)

    assert_each_arrived_once(store, api_key, 50)


def test_errors_then_recovery_retry_the_same_batch_until_it_is_stored(collector, api_key):
    store, url = collector
    store.answers = [Answer(500), Answer(503), Answer(502)]

    with serving(
        behaviour_app(), "asgi", api_key=api_key, api_base=url, batch_size=20,
        flush_interval=60, **FAST_RETRIES,
    ) as host:  # fmt: skip
        for n in range(20):
            httpx.get(f"{host.url}/n/{n}")
        store.wait_for_logs(api_key, 20)

    attempts = store.attempts_of(api_key)
    assert [a.status for a in attempts] == [500, 503, 502, 202]
    assert len({a.batch_id for a in attempts}) == 1  # a retry is the same batch
    assert_each_arrived_once(store, api_key, 20)


def test_a_lost_acknowledgement_does_not_store_a_batch_twice(collector, api_key):
    store, url = collector
    # The server stores the batch, then the answer is a 500 (as if the 2xx got lost).
    store.answers = [Answer(500, store=True)]

    with serving(
        behaviour_app(), "asgi", api_key=api_key, api_base=url, batch_size=10,
        flush_interval=60, **FAST_RETRIES,
    ) as host:  # fmt: skip
        for n in range(10):
            httpx.get(f"{host.url}/n/{n}")

    attempts = store.attempts_of(api_key)
    assert [a.status for a in attempts] == [500, 202]
    assert attempts[0].batch_id == attempts[1].batch_id
    assert sorted(paths(store.logs(api_key))) == sorted(f"/n/{n}" for n in range(10))


def test_429_waits_as_long_as_retry_after_says(collector, api_key):
    store, url = collector
    store.answers = [Answer(429, headers={"Retry-After": "1"})]

    with serving(
        behaviour_app(), "asgi", api_key=api_key, api_base=url, batch_size=5,
        flush_interval=60, **FAST_RETRIES,
    ) as host:  # fmt: skip
        for n in range(5):
            httpx.get(f"{host.url}/n/{n}")
        store.wait_for_logs(api_key, 5)

    first, second = store.attempts_of(api_key)
    assert (first.status, second.status) == (429, 202)
    assert first.batch_id == second.batch_id
    assert second.at - first.at >= 1.0  # the backoff alone would have waited 0.1 s at most


def test_401_stops_sending_logs_once_and_the_app_keeps_serving(collector, caplog):
    store, url = collector

    with (
        caplog.at_level(logging.ERROR, logger="client_middleware"),
        serving(
            behaviour_app(), "asgi", api_key="unknown-key", api_base=url, batch_size=5,
            flush_interval=60,
        ) as host,
    ):  # fmt: skip
        for n in range(5):
            httpx.get(f"{host.url}/n/{n}")
        _wait_until(lambda: len(store.attempts) >= 1)
        statuses = [httpx.get(f"{host.url}/n/{100 + n}").status_code for n in range(20)]
        assert statuses == [200] * 20
        assert host.tracker.active is False
        assert len(host.tracker.buffer) == 0

    assert [a.status for a in store.attempts] == [401]  # never tried again, not even at exit
    rejections = [r for r in caplog.records if "rejected the API key" in r.getMessage()]
    assert len(rejections) == 1


@pytest.mark.parametrize("status", [422, 400, 403])
def test_a_refused_batch_is_dropped_with_one_error_and_counted(collector, api_key, caplog, status):
    store, url = collector
    store.answers = [Answer(status)]

    with (
        caplog.at_level(logging.ERROR, logger="client_middleware"),
        serving(
            behaviour_app(), "asgi", api_key=api_key, api_base=url, batch_size=5,
            flush_interval=60, **FAST_RETRIES,
        ) as host,
    ):  # fmt: skip
        for n in range(5):
            httpx.get(f"{host.url}/n/{n}")
        _wait_until(lambda: len(store.attempts_of(api_key)) >= 1)
        for n in range(5):
            httpx.get(f"{host.url}/n/{100 + n}")
        store.wait_for_logs(api_key, 5)

    # The refused batch's 5 records are reported as dropped with the next one.
    assert_dropped_with_one_error(
        store, api_key, caplog, status, [f"/n/{100 + n}" for n in range(5)], dropped=5
    )


def assert_dropped_with_one_error(
    store: Collector, api_key: str, caplog, status: int, delivered: list[str], dropped: int
) -> None:
    """One batch refused with `status` and logged once, then one delivered holding
    `delivered` and reporting `dropped`."""
    assert [a.status for a in store.attempts_of(api_key)] == [status, 202]
    (batch,) = store.batches_of(api_key)
    assert batch["dropped"] == dropped
    assert sorted(paths(batch["logs"])) == sorted(delivered)
    refusals = [r for r in caplog.records if "refused a batch" in r.getMessage()]
    assert len(refusals) == 1


def test_a_batch_too_large_for_one_body_is_split(collector, api_key):
    store, url = collector

    with serving(
        behaviour_app(), "asgi", api_key=api_key, api_base=url, batch_size=40,
        flush_interval=60, max_body_bytes=4096,
    ) as host:  # fmt: skip
        for n in range(40):
            httpx.get(f"{host.url}/n/{n}", headers={"user-agent": "x" * 100})

    batches = store.batches_of(api_key)
    assert len(batches) > 1
    assert all(a.status == 202 for a in store.attempts_of(api_key))
    assert sorted(paths(store.logs(api_key))) == sorted(f"/n/{n}" for n in range(40))


def test_a_413_sends_the_batch_again_in_smaller_ones_each_record_once(collector, api_key):
    store, url = collector
    store.max_body_bytes = 3000  # below the middleware's own limit, unknown to it
    padded = {"user-agent": "x" * 50}  # 20 logs: ~5 kB, 10 logs: ~2.5 kB

    with serving(
        behaviour_app(), "asgi", api_key=api_key, api_base=url, batch_size=20,
        flush_interval=60,
    ) as host:  # fmt: skip
        for n in range(10, 30):
            httpx.get(f"{host.url}/n/{n}", headers=padded)
        store.wait_for_logs(api_key, 20)
        for n in range(30, 50):  # these batches are made small enough from the start
            httpx.get(f"{host.url}/n/{n}", headers=padded)

    statuses = [a.status for a in store.attempts_of(api_key)]
    assert statuses[0] == 413
    assert statuses[1:] == [202] * (len(statuses) - 1)
    assert len(paths(store.logs(api_key))) == 40
    assert_each_arrived_once(store, api_key, 40)
    assert sum(batch["dropped"] for batch in store.batches_of(api_key)) == 0


def test_a_single_record_too_large_for_the_server_is_dropped_with_one_error(
    collector, api_key, caplog
):
    store, url = collector
    store.max_body_bytes = 1500

    with (
        caplog.at_level(logging.ERROR, logger="client_middleware"),
        serving(
            behaviour_app(), "asgi", api_key=api_key, api_base=url, batch_size=1,
            flush_interval=60,
        ) as host,
    ):  # fmt: skip
        httpx.get(f"{host.url}/n/0", headers={"user-agent": "x" * 2000})
        _wait_until(lambda: len(store.attempts_of(api_key)) >= 1)
        httpx.get(f"{host.url}/n/1")
        store.wait_for_logs(api_key, 1)

    assert_dropped_with_one_error(store, api_key, caplog, 413, ["/n/1"], dropped=1)


def test_a_batch_size_above_the_servers_limit_is_sent_as_several_batches(collector, api_key):
    store, url = collector

    with serving(
        behaviour_app(), "asgi", api_key=api_key, api_base=url, batch_size=1200,
        flush_interval=60,
    ) as host:  # fmt: skip
        with httpx.Client(base_url=host.url) as client:
            for n in range(1200):
                client.get(f"/n/{n}")
        store.wait_for_logs(api_key, 1200)

    attempts = store.attempts_of(api_key)
    assert [a.status for a in attempts] == [202, 202]
    assert max(a.size for a in attempts) <= 1000
    assert_each_arrived_once(store, api_key, 1200)


def _wait_until(condition, timeout: float = 30.0) -> None:
    done = threading.Event()
    for _ in range(int(timeout / 0.01)):
        if condition():
            return
        done.wait(0.01)
    raise AssertionError("condition not met in time")
