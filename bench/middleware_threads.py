"""Where the middleware's CPU goes between the event loop's thread and the sender thread.

`bench/middleware.py` sees one number per process. This script splits it: the variants'
apps (those of `bench/middleware_app.py`) run in one process, on one event loop, driven
directly through ASGI (no server, no sockets: requests one after another, the loop turning
between them), with their batches posted to a local collector. Per variant and round it
reads, from /proc, the loop thread's user and system CPU per request, the other threads' CPU
per request (the sender), and how often the sender thread was switched out. Rounds
alternate the variants; medians.

    uv run python bench/middleware_threads.py
    uv run python bench/middleware_threads.py --variants noop,seed --requests 20000

It shows a cost `wrk` cannot attribute: a sender waiting for the GIL is woken each time the
loop's thread releases it (every `epoll_wait`, socket read and write) and, mostly, finds it
taken again. The loop thread pays a futex wake-up (system time) for each. Apps whose loop
turns many times per request, as Starlette's `BaseHTTPMiddleware` makes it, pay most.
Not a test: prints a table and exits.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from middleware import REPO_ROOT, free_port, uvicorn_process

sys.path.insert(0, str(REPO_ROOT))  # the apps import client_middleware from the checkout

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
# Each tracked variant against its baseline, as in bench/middleware.py.
PAIRS = (("asgi", "bare"), ("seed", "noop"))


@dataclass
class Samples:
    loop_user_us: list[float] = field(default_factory=list)
    loop_system_us: list[float] = field(default_factory=list)
    sender_us: list[float] = field(default_factory=list)
    sender_switches: list[float] = field(default_factory=list)  # per 1000 requests


def main() -> None:
    arguments = parse_arguments()
    variants = arguments.variants.split(",")
    samples = {variant: Samples() for variant in variants}
    with collector() as url:
        os.environ["BENCH_COLLECTOR"] = url
        loop = asyncio.new_event_loop()
        apps = {variant: started_app(variant, loop) for variant in variants}
        for running in apps.values():  # warm-up, and a first batch through every sender
            loop.run_until_complete(serve_requests(running.app, 1000))
        for round_number in range(arguments.rounds):
            for variant in (
                variants[round_number % len(variants) :] + variants[: round_number % len(variants)]
            ):
                measure_round(loop, apps[variant].app, arguments.requests, samples[variant])
        loop.run_until_complete(stop(list(apps.values())))
    print_table(samples, arguments)


def parse_arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", default="bare,asgi,noop,seed")
    parser.add_argument("--requests", type=int, default=20_000, help="per variant and round")
    parser.add_argument("--rounds", type=int, default=7)
    return parser.parse_args()


@contextlib.contextmanager
def collector() -> Iterator[str]:
    port = free_port()
    with uvicorn_process("bench.middleware_app:collector_app", port, {}):
        yield f"http://127.0.0.1:{port}"


@dataclass
class RunningApp:
    app: Any
    lifespan_messages: asyncio.Queue[dict[str, str]]
    lifespan: asyncio.Future[None] | None = None


def started_app(variant: str, loop: asyncio.AbstractEventLoop) -> RunningApp:
    """The variant's app, its lifespan started (the ASGI class starts its sender there)."""
    os.environ["BENCH_VARIANT"] = variant
    from middleware_app import create_app

    running = RunningApp(create_app(), asyncio.Queue())
    started = asyncio.Event()

    async def send(message: dict[str, str]) -> None:
        if message["type"] == "lifespan.startup.complete":
            started.set()

    async def start() -> None:
        await running.lifespan_messages.put({"type": "lifespan.startup"})
        scope = {"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}
        running.lifespan = asyncio.ensure_future(
            running.app(scope, running.lifespan_messages.get, send)
        )
        await started.wait()

    loop.run_until_complete(start())
    return running


async def stop(apps: list[RunningApp]) -> None:
    """Shut every lifespan down (the ASGI class flushes its sender there)."""
    for running in apps:
        await running.lifespan_messages.put({"type": "lifespan.shutdown"})
    await asyncio.wait([running.lifespan for running in apps if running.lifespan], timeout=10)


async def serve_requests(app: Any, count: int) -> None:
    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        pass

    for _ in range(count):
        await app(request_scope(), receive, send)
        # The loop turns between requests, as under a server: callbacks and the I/O of tasks
        # on it (the middleware's encoding and sending of full batches) run there.
        await asyncio.sleep(0)


def request_scope() -> dict[str, Any]:
    return {
        "type": "http", "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": "1.1", "method": "GET", "scheme": "http", "path": "/",
        "raw_path": b"/", "query_string": b"", "root_path": "",
        "headers": [(b"host", b"127.0.0.1:8000"), (b"user-agent", b"wrk"), (b"accept", b"*/*")],
        "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 8000), "state": {},
    }  # fmt: skip


def measure_round(loop: asyncio.AbstractEventLoop, app: Any, requests: int, into: Samples) -> None:
    loop_thread = threading.get_native_id()
    user_before, system_before = thread_cpu_ticks(loop_thread)
    others_before, switches_before = other_threads(loop_thread)
    loop.run_until_complete(serve_requests(app, requests))
    user_after, system_after = thread_cpu_ticks(loop_thread)
    others_after, switches_after = other_threads(loop_thread)
    per_request = 1e6 / CLOCK_TICKS / requests
    into.loop_user_us.append((user_after - user_before) * per_request)
    into.loop_system_us.append((system_after - system_before) * per_request)
    into.sender_us.append((others_after - others_before) * per_request)
    into.sender_switches.append((switches_after - switches_before) * 1000 / requests)


def thread_cpu_ticks(thread_id: int) -> tuple[int, int]:
    fields = Path(f"/proc/self/task/{thread_id}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]), int(fields[12])


def other_threads(loop_thread: int) -> tuple[int, int]:
    """CPU ticks and context switches of every thread but the loop's (threads that ended
    meanwhile are left out: the senders live as long as the process)."""
    ticks = switches = 0
    for task in Path("/proc/self/task").iterdir():
        if task.name == str(loop_thread):
            continue
        with contextlib.suppress(FileNotFoundError):
            user, system = thread_cpu_ticks(int(task.name))
            ticks += user + system
            status = (task / "status").read_text()
            switches += sum(
                int(line.split()[1]) for line in status.splitlines() if "ctxt_switches" in line
            )
    return ticks, switches


def print_table(samples: dict[str, Samples], arguments: argparse.Namespace) -> None:
    print(
        f"\n{arguments.rounds} rounds x {arguments.requests:,} requests per variant, one "
        f"process, driven through ASGI; load average {os.getloadavg()[0]:.1f}\n"
    )
    print(
        "| variant | loop thread user µs/request | loop thread system µs/request "
        "| sender µs/request | sender switches per 1000 requests |"
    )
    print("|---|---:|---:|---:|---:|")
    medians = {}
    for variant, sample in samples.items():
        medians[variant] = row = [
            statistics.median(values)
            for values in (
                sample.loop_user_us, sample.loop_system_us, sample.sender_us,
                sample.sender_switches,
            )
        ]  # fmt: skip
        print(f"| {variant} | " + " | ".join(f"{value:.1f}" for value in row) + " |")
    print()
    for tracked, baseline in PAIRS:
        if tracked in medians and baseline in medians:
            added_loop = sum(medians[tracked][:2]) - sum(medians[baseline][:2])
            added_system = medians[tracked][1] - medians[baseline][1]
            print(
                f"{tracked} - {baseline}: loop thread +{added_loop:.1f} µs/request "
                f"(of which system +{added_system:.1f}), sender {medians[tracked][2]:.1f} "
                f"µs/request, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}"
            )


if __name__ == "__main__":
    main()
