"""Throughput cost of the client middleware: a hello-world FastAPI app under load with `wrk`.

Variants, each in its own uvicorn process (1 worker, identical settings) on 127.0.0.1:
  bare  no middleware
  asgi  AnalyticsMiddleware, sending to a local collector that accepts every batch
  seed  the seed-compatible create_tracking_middleware function, same collector
  noop  a do-nothing `app.middleware("http")` function (Starlette's BaseHTTPMiddleware),
        the floor any `app.middleware("http")` function stands on

Rounds alternate the variants (the order rotates each round) so drift of a shared, noisy
machine hits every variant alike; each round starts a new process for each variant, warms it
up, then measures it, so no one process's luck (see `measure_fresh_process`) weighs on every
round. Each variant's result is its median over the rounds; each ratio is also given round
by round, as median and quartiles.

Two measures per run: requests per second (what wrk saw), and the app process's CPU time per
request (user + system, from /proc, the sender thread included). On a machine shared with
other work the first swings with the share of a core the app happens to get; the second does
not, and for a one-process app at saturation its inverse is the throughput it could reach.

    uv run python bench/middleware.py               # ~4 min: 5 rounds of 6 s per variant
    uv run python bench/middleware.py --rounds 3 --duration 4 --connections 64

Needs `wrk` (Debian/Ubuntu: apt-get install -y wrk). Not a test: prints a table and exits.

    uv run python bench/middleware.py --instructions   # ~4 min, needs valgrind

counts instead the instructions (user space) each variant's process spends per request, which
no other load on the machine changes: each app runs under callgrind with counting switched
on only while a client sends requests one after another on one connection (after a warm-up
of one full batch), and off after the sender has sent the last batch of them; counts are per
thread, so the request path (the event loop's thread) and the sender thread show apart.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

REPO_ROOT = Path(__file__).resolve().parents[1]
VARIANTS = ("bare", "asgi", "seed", "noop")
LABELS = {
    "bare": "bare FastAPI app",
    "asgi": "AnalyticsMiddleware (ASGI class)",
    "seed": "create_tracking_middleware (seed-style function)",
    "noop": 'do-nothing app.middleware("http") function',
}
# The two targets: each variant's measure as a ratio of its baseline's.
RATIOS = (
    ("AnalyticsMiddleware / bare", "asgi", "bare"),
    ("seed-style function / do-nothing function", "seed", "noop"),
)
UVICORN_SETTINGS = ["--workers", "1", "--log-level", "warning", "--no-access-log"]


def main() -> None:
    arguments = parse_arguments()
    if arguments.instructions:
        count_instructions(arguments.requests)
        return
    wrk = shutil.which("wrk")
    if wrk is None:
        sys.exit("wrk is not installed (apt-get install -y wrk)")
    results: dict[str, list[float]] = {variant: [] for variant in VARIANTS}
    cpu_costs: dict[str, list[float]] = {variant: [] for variant in VARIANTS}
    loads: list[float] = []  # the 1-minute load average after each round
    collector_port = free_port()
    with uvicorn_process("bench.middleware_app:collector_app", collector_port, {}):
        for round_number in range(arguments.rounds):
            order = VARIANTS[round_number % 4 :] + VARIANTS[: round_number % 4]
            for variant in order:
                rate, cost = measure_fresh_process(wrk, variant, collector_port, arguments)
                results[variant].append(rate)
                cpu_costs[variant].append(cost)
            loads.append(os.getloadavg()[0])
            print(
                f"round {round_number + 1}/{arguments.rounds} (load {loads[-1]:.1f}): "
                + ", ".join(
                    f"{v} {results[v][-1]:,.0f}/s {cpu_costs[v][-1]:.0f} us" for v in VARIANTS
                ),
                flush=True,
            )
    print_table(results, cpu_costs, loads, arguments)


def measure_fresh_process(
    wrk: str, variant: str, collector_port: int, arguments: argparse.Namespace
) -> tuple[float, float]:
    """Requests per second and CPU microseconds per request of a new process of the variant,
    after a warm-up (which also fills and sends batches).

    A new process each time, because two processes of the same app differ: measured here, four
    processes of the bare app, side by side over ten rounds, kept medians 0.95-1.02 of each
    other (memory layout or the core they land on, most likely). One process per variant
    would carry that bias into every round."""
    port = free_port()
    env = {"BENCH_VARIANT": variant, "BENCH_COLLECTOR": f"http://127.0.0.1:{collector_port}"}
    with uvicorn_process("bench.middleware_app:create_app", port, env, factory=True) as process:
        run_wrk(wrk, port, arguments.warmup, arguments.connections)
        cpu_before = cpu_seconds(process.pid)
        rate, requests = run_wrk(wrk, port, arguments.duration, arguments.connections)
        cpu = cpu_seconds(process.pid) - cpu_before
    return rate, cpu / requests * 1e6


def parse_arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--duration", type=int, default=6, help="seconds of load per run")
    parser.add_argument("--warmup", type=int, default=3, help="seconds per variant, unmeasured")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument(
        "--instructions", action="store_true", help="count instructions per request instead"
    )
    parser.add_argument(
        "--requests", type=int, default=2000, help="requests counted (--instructions)"
    )
    return parser.parse_args()


def run_wrk(wrk: str, port: int, duration: int, connections: int) -> tuple[float, int]:
    """Requests per second wrk measured, and how many requests it made; one wrk thread (the
    app is one Python process)."""
    output = subprocess.run(
        [wrk, "-t1", f"-c{connections}", f"-d{duration}s", f"http://127.0.0.1:{port}/"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    if non_2xx:
        raise RuntimeError(f"the app answered errors under load:\n{output}")
    rate = re.search(r"Requests/sec:\s+([\d.]+)", output)
    requests = re.search(r"(\d+) requests in", output)
    if rate is None or requests is None:
        raise RuntimeError(f"unexpected wrk output:\n{output}")
    return float(rate.group(1)), int(requests.group(1))


def cpu_seconds(pid: int) -> float:
    """User + system CPU time the process has used so far (Linux /proc), all threads."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    utime, stime = int(fields[11]), int(fields[12])
    return (utime + stime) / os.sysconf("SC_CLK_TCK")


def print_table(
    results: dict[str, list[float]],
    cpu_costs: dict[str, list[float]],
    loads: list[float],
    arguments: argparse.Namespace,
) -> None:
    rate = {variant: statistics.median(rates) for variant, rates in results.items()}
    cost = {variant: statistics.median(costs) for variant, costs in cpu_costs.items()}
    print()
    print(
        f"{arguments.rounds} rounds x {arguments.duration} s per variant, wrk -t1 "
        f"-c{arguments.connections}, uvicorn 1 worker, {os.cpu_count()} CPUs, "
        f"load average {min(loads):.1f}-{max(loads):.1f}"
    )
    print()
    print(
        "| variant | requests/s (median) | min-max | ratio to bare "
        "| CPU us/request (median) | min-max | ratio to bare (CPU) |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    for variant in VARIANTS:
        rates, costs = results[variant], cpu_costs[variant]
        print(
            f"| {LABELS[variant]} | {rate[variant]:,.0f} | {min(rates):,.0f}-{max(rates):,.0f} "
            f"| {rate[variant] / rate['bare']:.3f} | {cost[variant]:.1f} "
            f"| {min(costs):.1f}-{max(costs):.1f} | {cost['bare'] / cost[variant]:.3f} |"
        )
    print()
    for label, variant, baseline in RATIOS:
        print(
            f"{label}: throughput {rate[variant] / rate[baseline]:.3f}, "
            f"CPU per request {cost[baseline] / cost[variant]:.3f} (target >= 0.95)"
        )
        # The same ratio round by round (both measured minutes apart at most): its spread
        # shows how far one run's median can be trusted.
        by_rate = [r / b for r, b in zip(results[variant], results[baseline], strict=True)]
        by_cost = [b / c for c, b in zip(cpu_costs[variant], cpu_costs[baseline], strict=True)]
        print(f"  per round, throughput: {spread(by_rate)}; CPU per request: {spread(by_cost)}")


def spread(ratios: list[float]) -> str:
    """Median and quartiles of per-round ratios."""
    if len(ratios) < 2:
        return f"{ratios[0]:.3f}"
    low, median, high = statistics.quantiles(ratios, n=4)
    return f"median {median:.3f}, quartiles {low:.3f}-{high:.3f}"


# -- instruction counts ------------------------------------------------------------------------

BATCH_SIZE = 500  # the middleware's default; the counted requests fill whole batches
ONE_REQUEST = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: bench/1.0\r\nAccept: */*\r\n\r\n"


def count_instructions(requests: int) -> None:
    for tool in ("valgrind", "callgrind_control"):
        if shutil.which(tool) is None:
            sys.exit(f"{tool} is not installed (apt-get install -y valgrind)")
    requests = max(BATCH_SIZE, requests // BATCH_SIZE * BATCH_SIZE)
    counts: dict[str, list[int]] = {}
    collector_port = free_port()
    with uvicorn_process("bench.middleware_app:collector_app", collector_port, {}):
        for variant in VARIANTS:
            counts[variant] = instructions_per_thread(variant, requests, collector_port)
    totals = {variant: sum(per_thread) / requests for variant, per_thread in counts.items()}
    print(f"\n{requests} requests per variant, instructions per request (callgrind, user space)\n")
    print("| variant | total | event loop thread | other threads (sender) | ratio to bare |")
    print("|---|---:|---:|---:|---:|")
    for variant, per_thread in counts.items():
        loop, others = per_thread[0] / requests, sum(per_thread[1:]) / requests
        print(
            f"| {LABELS[variant]} | {totals[variant]:,.0f} | {loop:,.0f} | {others:,.0f} "
            f"| {totals['bare'] / totals[variant]:.4f} |"
        )
    print()
    for label, variant, baseline in RATIOS:
        print(f"{label}: {totals[baseline] / totals[variant]:.4f} (target >= 0.95)")


def instructions_per_thread(variant: str, requests: int, collector_port: int) -> list[int]:
    """Instructions each thread of the variant's process ran while `requests` were served."""
    port = free_port()
    with tempfile.TemporaryDirectory() as directory:
        output = Path(directory) / "callgrind.out"
        command = [
            "valgrind", "--tool=callgrind", "--instr-atstart=no", "--separate-threads=yes",
            f"--callgrind-out-file={output}", sys.executable, "-m", "uvicorn",
            "bench.middleware_app:create_app", "--factory", "--host", "127.0.0.1",
            "--port", str(port), *UVICORN_SETTINGS,
        ]  # fmt: skip
        env = {
            **os.environ,
            "PYTHONPATH": str(REPO_ROOT),
            "PYTHONHASHSEED": "0",
            "BENCH_VARIANT": variant,
            "BENCH_COLLECTOR": f"http://127.0.0.1:{collector_port}",
            # Only full batches: no timer flush of a partial one while counting.
            "BENCH_OPTIONS": json.dumps({"batch_size": BATCH_SIZE, "flush_interval": 600}),
        }
        process = subprocess.Popen(command, cwd=REPO_ROOT, env=env, stderr=subprocess.DEVNULL)
        try:
            wait_until_accepting(port, process)
            send_requests(port, BATCH_SIZE)  # warm-up: one batch, sent
            time.sleep(3)
            subprocess.run(["callgrind_control", "-i", "on", str(process.pid)], check=True,
                           capture_output=True)  # fmt: skip
            send_requests(port, requests)
            time.sleep(5)  # the sender sends the last batch (slowly, under valgrind)
            subprocess.run(["callgrind_control", "-i", "off", str(process.pid)], check=True,
                           capture_output=True)  # fmt: skip
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(120)
        per_thread = [thread_total(path) for path in sorted(Path(directory).iterdir())]
    return [count for count in per_thread if count] or [0]


def thread_total(path: Path) -> int:
    """The thread's count: the file's `totals:` line (its `summary:` line may say 0)."""
    for line in reversed(path.read_text().splitlines()):
        if line.startswith("totals:"):
            return int(line.split()[1])
    return 0


def wait_until_accepting(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 180  # start-up under valgrind is slow
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the app exited with {process.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.5)
    raise RuntimeError(f"the app on port {port} did not start")


def send_requests(port: int, count: int) -> None:
    """`count` GET / one after another on one kept-alive connection, each answer read."""
    with socket.create_connection(("127.0.0.1", port)) as connection:
        answers = connection.makefile("rb")
        for _ in range(count):
            connection.sendall(ONE_REQUEST)
            length = 0
            while (line := answers.readline()) not in (b"\r\n", b""):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            answers.read(length)


def free_port() -> int:
    with contextlib.closing(socket.socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def uvicorn_process(
    app: str, port: int, env: dict[str, str], factory: bool = False
) -> Iterator[subprocess.Popen[bytes]]:
    command = [sys.executable, "-m", "uvicorn", app, "--host", "127.0.0.1", "--port", str(port)]
    command += UVICORN_SETTINGS + (["--factory"] if factory else [])
    process = subprocess.Popen(
        command, cwd=REPO_ROOT, env={**os.environ, "PYTHONPATH": str(REPO_ROOT), **env}
    )
    try:
        wait_until_serving(port, process)
        yield process
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def wait_until_serving(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"uvicorn exited with {process.returncode}")
        try:
            httpx.get(f"http://127.0.0.1:{port}/", timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.05)
    raise RuntimeError(f"uvicorn on port {port} did not start")


if __name__ == "__main__":
    main()
