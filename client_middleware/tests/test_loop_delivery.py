"""Full batches delivered from the app's event loop, to a real server; the rest to the thread."""

from __future__ import annotations

import asyncio
import contextvars
import json
import threading
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from client_middleware.batch import BATCH_PATH, Attempted, Batch
from client_middleware.loop_delivery import AnswerReader, LoopDelivery
from client_middleware.loop_encoding import EncodedBatches
from client_middleware.options import resolve_options
from client_middleware.recorder import RecordBuffer
from client_middleware.tests.collector import Answer, Collector
from client_middleware.tests.test_loop_encoding import BATCH_SIZE, SenderWakes, record
from client_middleware.tests.test_transport import (  # noqa: F401 (an autouse fixture)
    Received,
    http_server,
    no_proxy_from_the_machine,
    self_signed_tls,
)
from client_middleware.transport import Answer as TransportAnswer


def loop_batches(
    url: str, api_key: str, records: int, timeout: float = 5.0
) -> tuple[EncodedBatches, SenderWakes]:
    options = resolve_options(api_key, url, batch_size=BATCH_SIZE, timeout=timeout)
    buffer = RecordBuffer(options.max_queue, options.batch_size, wake=lambda: None)
    buffer.arm()
    for number in range(records):
        buffer.append(record(number))
    wakes = SenderWakes()
    delivery = LoopDelivery(url, api_key, BATCH_PATH, timeout)
    batches = EncodedBatches(options, buffer, lambda: None, wakes, lambda: 0, delivery)
    return batches, wakes


def on_a_loop(encoded: EncodedBatches, until: Callable[[], bool]) -> None:
    """Schedule a full batch as the request path does, then let the loop run until `until`."""

    async def request_path() -> None:
        assert encoded.schedule()
        for _ in range(1000):
            await asyncio.sleep(0.01)
            if until():
                return

    asyncio.run(request_path())


def test_a_full_batch_goes_from_the_loop_and_the_sender_is_never_woken(
    collector: tuple[Collector, str], api_key: str
) -> None:
    store, url = collector
    encoded, wakes = loop_batches(url, api_key, 2 * BATCH_SIZE)

    on_a_loop(encoded, until=lambda: len(encoded) == 0)

    assert [log["path"] for log in store.logs(api_key)] == ["/n/0", "/n/1", "/n/2"]
    assert wakes.threads == []
    assert encoded.take() is None


REQUEST_ID: contextvars.ContextVar[str] = contextvars.ContextVar("request_id")


class ContextSeeingDelivery(LoopDelivery):
    """Answers 202 at once, noting the request id its context holds (None: none)."""

    def __init__(self) -> None:
        super().__init__("http://127.0.0.1:9", "key", BATCH_PATH, 5.0)
        self.seen: list[str | None] = []

    async def post(self, body: bytes) -> TransportAnswer | str:
        self.seen.append(REQUEST_ID.get(None))
        return TransportAnswer(202, None, "")


def test_the_loops_work_runs_in_a_context_of_its_own_not_the_requests(api_key: str) -> None:
    options = resolve_options(api_key, "http://127.0.0.1:9", batch_size=BATCH_SIZE)
    buffer = RecordBuffer(options.max_queue, options.batch_size, wake=lambda: None)
    buffer.arm()
    for number in range(BATCH_SIZE):
        buffer.append(record(number))
    delivery = ContextSeeingDelivery()
    encoded = EncodedBatches(options, buffer, lambda: None, SenderWakes(), lambda: 0, delivery)

    async def request_path() -> None:
        REQUEST_ID.set("request-42")  # as tracing or a request-id middleware would
        assert encoded.schedule()
        for _ in range(100):
            await asyncio.sleep(0)

    asyncio.run(request_path())

    assert delivery.seen == [None]  # the batch went, without the request's context


def test_batches_one_after_another_share_one_connection(
    collector: tuple[Collector, str], api_key: str
) -> None:
    store, url = collector
    delivery = LoopDelivery(url, api_key, BATCH_PATH, 5.0)
    body = b'{"logs":[],"batch_id":"%s","dropped":0}'

    async def two_posts() -> tuple[Any, Any]:
        first = await delivery.post(body % b"11111111-1111-4111-8111-111111111111")
        second = await delivery.post(body % b"22222222-2222-4222-8222-222222222222")
        return first, second

    first, second = asyncio.run(two_posts())
    assert first.status == 202
    assert second.status == 202
    assert delivery.connections_opened == 1
    assert len(store.batches_of(api_key)) == 2


def test_an_answer_other_than_2xx_goes_to_the_sender_with_the_very_batch(
    collector: tuple[Collector, str], api_key: str
) -> None:
    store, url = collector
    store.answers.append(Answer(status=503, headers={"Retry-After": "7"}))
    encoded, wakes = loop_batches(url, api_key, BATCH_SIZE)

    on_a_loop(encoded, until=lambda: bool(wakes.threads))

    attempted = encoded.take()
    assert isinstance(attempted, Attempted)
    assert attempted.answer is not None
    assert (attempted.answer.status, attempted.answer.retry_after) == (503, "7")
    (attempt,) = store.attempts_of(api_key)
    assert attempt.batch_id == attempted.batch.batch_id  # the thread sends the same body
    assert [json.loads(log)["path"] for log in attempted.batch.logs] == ["/n/0", "/n/1", "/n/2"]
    assert wakes.threads == [threading.get_ident()]
    assert store.logs(api_key) == []


def test_after_a_failed_attempt_the_loop_leaves_batches_to_the_sender_until_it_delivers(
    collector: tuple[Collector, str], api_key: str
) -> None:
    store, url = collector
    store.answers.append(Answer(status=503))
    encoded, wakes = loop_batches(url, api_key, 3 * BATCH_SIZE)

    on_a_loop(encoded, until=lambda: bool(wakes.threads))
    assert isinstance(encoded.take(), Attempted)  # the sender retries it
    on_a_loop(encoded, until=lambda: len(wakes.threads) == 2)
    second = encoded.take()
    assert isinstance(second, list) and len(second) == BATCH_SIZE  # not sent by the loop
    assert len(store.attempts_of(api_key)) == 1

    encoded.resume_loop_delivery()  # the sender delivered a batch: the server is back
    on_a_loop(encoded, until=lambda: len(store.logs(api_key)) == BATCH_SIZE)
    assert [log["path"] for log in store.logs(api_key)] == ["/n/6", "/n/7", "/n/8"]
    assert len(wakes.threads) == 2


def test_no_answer_in_time_goes_to_the_sender_without_an_answer(
    collector: tuple[Collector, str], api_key: str
) -> None:
    store, url = collector
    store.answers.append(Answer(delay=2.0))
    encoded, wakes = loop_batches(url, api_key, BATCH_SIZE, timeout=0.2)

    on_a_loop(encoded, until=lambda: bool(wakes.threads))

    attempted = encoded.take()
    assert isinstance(attempted, Attempted)
    assert attempted.answer == "no answer within 0.2 s"
    assert len(encoded) == 0


def test_a_batch_whose_loop_stops_before_the_answer_goes_to_the_sender(
    collector: tuple[Collector, str], api_key: str
) -> None:
    store, url = collector
    gate = threading.Event()
    store.answers.append(Answer(gate=gate))  # no answer until the loop has gone
    encoded, wakes = loop_batches(url, api_key, BATCH_SIZE)

    # The loop ends with the batch in flight, as a test client's loop does after a request.
    on_a_loop(encoded, until=lambda: len(encoded) == BATCH_SIZE)
    gate.set()

    attempted = encoded.take()
    assert isinstance(attempted, Attempted)
    assert attempted.answer == "the event loop stopped before the answer came"
    assert encoded.take_in_flight() is None
    assert wakes.threads == [threading.get_ident()]


def test_no_server_at_all_goes_to_the_sender_without_an_answer(api_key: str) -> None:
    encoded, wakes = loop_batches("http://127.0.0.1:9", api_key, BATCH_SIZE)

    on_a_loop(encoded, until=lambda: bool(wakes.threads))

    attempted = encoded.take()
    assert isinstance(attempted, Attempted)
    assert str(attempted.answer).startswith("ConnectionRefusedError")


def take_over_while_in_flight(
    collector: tuple[Collector, str], api_key: str, status: int
) -> tuple[EncodedBatches, Batch | None]:
    """The sender takes the loop's batch over (as it does when stopping) before the server
    answers; the server then answers `status` to the loop's attempt."""
    store, url = collector
    gate = threading.Event()
    store.answers.append(Answer(status=status, gate=gate))
    encoded, _ = loop_batches(url, api_key, BATCH_SIZE)
    taken: list[Batch | None] = []

    def take_over_then_answer() -> bool:
        if not taken and len(encoded) == BATCH_SIZE:
            taken.append(encoded.take_in_flight())
            gate.set()
        # Until the loop's delivery, the only task but this one, has finished.
        return bool(taken) and len(asyncio.all_tasks()) == 1

    on_a_loop(encoded, until=take_over_then_answer)
    return encoded, taken[0]


def test_a_batch_taken_over_in_flight_is_left_to_the_sender_once_delivered(
    collector: tuple[Collector, str], api_key: str
) -> None:
    encoded, taken = take_over_while_in_flight(collector, api_key, 202)

    assert taken is not None and len(taken.logs) == BATCH_SIZE
    assert encoded.take() is None
    assert encoded.take_in_flight() is None


def test_a_batch_taken_over_in_flight_and_refused_is_also_handed_over_never_lost(
    collector: tuple[Collector, str], api_key: str
) -> None:
    encoded, taken = take_over_while_in_flight(collector, api_key, 503)

    attempted = encoded.take()
    assert isinstance(attempted, Attempted) and taken is not None
    # The same batch twice over at worst: the server stores one batch_id once.
    assert attempted.batch is taken
    assert encoded.take_in_flight() is None


def read_in_pieces(pieces: list[bytes], reader: AnswerReader | None = None) -> Awaitable[Any]:
    reader = reader or AnswerReader()

    async def read() -> Any:
        answer = asyncio.get_running_loop().create_future()
        reader.expect_answer(answer)
        for piece in pieces:
            reader.data_received(piece)
        return await asyncio.wait_for(answer, 1)

    return read()


def test_an_answer_arriving_in_pieces_is_read_whole() -> None:
    raw = b'HTTP/1.1 429 Too Many\r\nRetry-After: 3\r\nContent-Length: 11\r\n\r\n{"slow":1}\n'
    pieces = [raw[i : i + 7] for i in range(0, len(raw), 7)]

    answer = asyncio.run(read_in_pieces(pieces))

    assert (answer.status, answer.retry_after, answer.text) == (429, "3", '{"slow":1}\n')


def test_a_chunked_answer_is_read_chunk_by_chunk_and_keeps_the_connection() -> None:
    raw = b"HTTP/1.1 500 Oops\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n"
    raw += b"6;x=y\r\n world\r\n0\r\n\r\n"
    reader = AnswerReader()

    answer = asyncio.run(read_in_pieces([raw[:-1], raw[-1:]], reader))

    assert (answer.status, answer.text) == (500, "hello world")
    assert reader.keep_alive


def test_an_answer_with_neither_length_nor_chunks_is_taken_as_it_stands() -> None:
    reader = AnswerReader()

    answer = asyncio.run(read_in_pieces([b"HTTP/1.1 202 Accepted\r\n\r\n{}"], reader))

    assert (answer.status, answer.text) == (202, "{}")
    assert not reader.keep_alive  # only its end would tell where the body ends


def post_all(delivery: LoopDelivery, bodies: list[bytes]) -> list[Any]:
    async def posts() -> list[Any]:
        return [await delivery.post(body) for body in bodies]

    return asyncio.run(posts())


def test_posts_go_to_the_base_path_with_the_key_and_a_closed_connection_is_reopened() -> None:
    received = Received()
    received.close_after_answer = True  # as a server whose idle time-out passed
    with http_server(received) as url:
        delivery = LoopDelivery(url + "/analytics", "secret", BATCH_PATH, 5.0)
        answers = post_all(delivery, [b'{"n":0}', b'{"n":1}'])

    assert [(a.status, a.retry_after, a.text) for a in answers] == [(202, "7", "ok")] * 2
    assert [r[:3] for r in received.requests] == [
        ("/analytics/track/batch", "secret", b'{"n":0}'),
        ("/analytics/track/batch", "secret", b'{"n":1}'),
    ]  # each once
    assert received.requests[0][3] != received.requests[1][3]  # on a new connection
    assert delivery.connections_opened == 2


def test_https_from_the_loop_verifies_the_servers_certificate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cert, tls = self_signed_tls(tmp_path)
    received = Received()
    with http_server(received, tls) as url:
        untrusting = LoopDelivery(url, "secret", BATCH_PATH, 5.0)
        refused = post_all(untrusting, [b"{}"])
        monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # the default context trusts it now
        trusting = LoopDelivery(url, "secret", BATCH_PATH, 5.0)
        answers = post_all(trusting, [b"{}"])

    assert "CERTIFICATE_VERIFY_FAILED" in refused[0]  # the thread logs it, then retries
    assert answers[0].status == 202
    assert len(received.requests) == 1


def test_through_a_proxy_the_thread_sends_everything(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:3128")

    assert not LoopDelivery("https://analytics.example", "k", BATCH_PATH, 5.0).usable
    assert LoopDelivery("http://analytics.example", "k", BATCH_PATH, 5.0).usable
