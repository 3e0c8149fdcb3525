"""Full batches encoded on the app's event loop, for the sender thread to deliver."""

from __future__ import annotations

import asyncio
import json
import threading

from client_middleware.loop_encoding import MAX_LOOP_BATCH, EncodedBatches
from client_middleware.options import resolve_options
from client_middleware.recorder import RecordBuffer

BATCH_SIZE = 3


def record(number: int) -> tuple:
    return (
        1_700_000_000.0 + number, "GET", f"/n/{number}", 200, 0, None, "", "", "10.0.0.1",
        None, 0.002, ((b"user-agent", b"probe"),),
    )  # fmt: skip


class SenderWakes:
    """Counts wake-ups and the thread each came from."""

    def __init__(self) -> None:
        self.threads: list[int] = []

    def __call__(self) -> None:
        self.threads.append(threading.get_ident())


def encoded_batches(
    records: int, batch_size: int = BATCH_SIZE
) -> tuple[EncodedBatches, RecordBuffer, SenderWakes]:
    options = resolve_options("key", "http://127.0.0.1:9", batch_size=batch_size)
    wakes = SenderWakes()
    buffer = RecordBuffer(options.max_queue, options.batch_size, wake=lambda: None)
    buffer.arm()
    for number in range(records):
        buffer.append(record(number))
    batches = EncodedBatches(options, buffer, lambda: None, wakes, lambda: 0, delivery=None)
    return batches, buffer, wakes


def test_a_full_batch_is_encoded_on_the_running_loop_then_the_sender_is_woken():
    encoded, buffer, wakes = encoded_batches(BATCH_SIZE + 1)

    async def request_path() -> bool:
        scheduled = encoded.schedule()
        await asyncio.sleep(0)  # the loop turns: the encoding runs between requests
        return scheduled

    assert asyncio.run(request_path())
    logs = encoded.take()
    assert logs is not None
    assert [json.loads(log)["path"] for log in logs] == ["/n/0", "/n/1", "/n/2"]
    assert len(buffer) == 1  # the partial rest stays for the sender's timed flush
    assert wakes.threads == [threading.get_ident()]  # woken from the loop's thread
    assert encoded.take() is None


def test_without_a_running_loop_the_sender_encodes_the_batch_itself():
    encoded, buffer, wakes = encoded_batches(BATCH_SIZE)

    assert not encoded.schedule()
    assert len(buffer) == BATCH_SIZE
    assert wakes.threads == []


def test_while_an_encoded_batch_waits_the_rest_is_left_in_the_bounded_buffer():
    encoded, buffer, wakes = encoded_batches(2 * BATCH_SIZE)

    async def two_full_batches() -> list[bool]:
        first = encoded.schedule()
        await asyncio.sleep(0)
        second = encoded.schedule()  # the sender has not taken the first yet
        await asyncio.sleep(0)
        return [first, second]

    assert asyncio.run(two_full_batches()) == [True, False]
    assert len(encoded) == BATCH_SIZE
    assert len(buffer) == BATCH_SIZE
    assert len(wakes.threads) == 1  # the tracker wakes the sender for the second itself


def test_once_shutting_down_the_batch_is_left_for_the_final_flush():
    encoded, buffer, wakes = encoded_batches(BATCH_SIZE)

    async def schedule_then_disarm() -> None:
        encoded.schedule()
        buffer.disarm()  # shutdown began before the loop ran the encoding
        await asyncio.sleep(0)

    asyncio.run(schedule_then_disarm())
    assert encoded.take() is None
    assert len(buffer) == BATCH_SIZE
    assert len(wakes.threads) == 1  # the sender still hears of it


def test_one_schedule_per_batch_however_many_requests_arrive_before_it_runs():
    encoded, buffer, wakes = encoded_batches(BATCH_SIZE)

    async def many_requests() -> list[bool]:
        answers = [encoded.schedule() for _ in range(5)]
        await asyncio.sleep(0)
        return answers

    assert asyncio.run(many_requests()) == [True] * 5
    assert len(wakes.threads) == 1
    assert len(encoded) == BATCH_SIZE
    assert len(buffer) == 0


def test_batches_too_large_to_encode_at_once_on_the_loop_are_left_to_the_sender():
    encoded, buffer, wakes = encoded_batches(MAX_LOOP_BATCH + 1, batch_size=MAX_LOOP_BATCH + 1)

    async def request_path() -> bool:
        scheduled = encoded.schedule()
        await asyncio.sleep(0)
        return scheduled

    assert not asyncio.run(request_path())
    assert len(buffer) == MAX_LOOP_BATCH + 1
    assert wakes.threads == []
