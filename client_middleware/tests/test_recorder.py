"""The bounded buffer between the request path and the sender."""

from __future__ import annotations

from client_middleware.recorder import RecordBuffer


def record(number: int) -> tuple:
    return (float(number), "GET", f"/{number}", 200, 0, None, "", "", None, None, 0.001, ())


class WakeCounter:
    def __init__(self) -> None:
        self.count = 0

    def __call__(self) -> None:
        self.count += 1


def test_a_full_buffer_drops_the_oldest_records_and_counts_them():
    buffer = RecordBuffer(max_queue=3, batch_size=100, wake=WakeCounter())
    buffer.arm()

    for number in range(5):
        buffer.append(record(number))

    assert len(buffer) == 3
    assert buffer.dropped_total == 2
    assert [r[2] for r in buffer.take(10)] == ["/2", "/3", "/4"]


def test_memory_stays_bounded_whatever_the_traffic():
    buffer = RecordBuffer(max_queue=50, batch_size=10, wake=WakeCounter())
    buffer.arm()

    for number in range(10_000):
        buffer.append(record(number))

    assert len(buffer) == 50
    assert buffer.dropped_total == 10_000 - 50


def test_take_returns_the_oldest_first_and_removes_them():
    buffer = RecordBuffer(max_queue=10, batch_size=10, wake=WakeCounter())
    buffer.arm()
    for number in range(6):
        buffer.append(record(number))

    first = buffer.take(4)
    rest = buffer.take(4)

    assert [r[2] for r in first] == ["/0", "/1", "/2", "/3"]
    assert [r[2] for r in rest] == ["/4", "/5"]
    assert len(buffer) == 0


def test_the_sender_is_woken_once_a_batch_is_full():
    wake = WakeCounter()
    buffer = RecordBuffer(max_queue=100, batch_size=3, wake=wake)
    buffer.arm()

    buffer.append(record(1))
    buffer.append(record(2))
    assert wake.count == 0
    buffer.append(record(3))
    assert wake.count == 1


def test_a_disarmed_buffer_wakes_on_the_next_record_so_the_sender_restarts():
    wake = WakeCounter()
    buffer = RecordBuffer(max_queue=100, batch_size=50, wake=wake)

    buffer.append(record(1))  # never armed: no sender yet

    assert wake.count == 1
    buffer.arm()
    buffer.append(record(2))
    assert wake.count == 1
    buffer.disarm()
    buffer.append(record(3))
    assert wake.count == 2


def test_records_hold_nothing_the_garbage_collector_keeps_tracking():
    """A buffer of thousands of records must not slow the app's garbage collections."""
    import gc

    headers = tuple([(b"host", b"example"), (b"user-agent", b"test")])
    item = (1.0, "GET", "/", 200, 12345, "/", "", "", "127.0.0.1", None, 0.001, headers)
    # A collection untracks a tuple whose items are untracked by then; the header tuples may
    # come later in its list than the record (it depends on what ran before), so one
    # collection may not be enough. The app's own collections do the same over time.
    for _ in range(3):
        gc.collect()

    assert not gc.is_tracked(item)
