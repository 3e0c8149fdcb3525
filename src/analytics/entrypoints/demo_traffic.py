"""A realistic synthetic day of API traffic, for `analytics demo`.

About twenty routes with Zipf-like popularity, a daily rhythm (quiet nights, busy
afternoons), clients of very different activity, a few percent of errors that fit each
route (401 on login, 404 on lookups, 422 on writes, rare 500s), and log-normal latencies
with a slow tail. Seeded, so the same seed gives the same day.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from analytics.domain.logs import RequestLog, ms_to_us

DAY = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class Route:
    method: str
    template: str
    median_ms: float
    # Status codes this route fails with, and how often (shares of its requests).
    failures: tuple[tuple[int, float], ...] = ()
    success_status: int = 200


ROUTES: tuple[Route, ...] = (
    Route("GET", "/api/products", 38, ((500, 0.002),)),
    Route("GET", "/api/products/{product_id}", 22, ((404, 0.03), (500, 0.001))),
    Route("GET", "/api/users/me", 12, ((401, 0.02),)),
    Route("GET", "/health", 1.2),
    Route("POST", "/api/auth/login", 95, ((401, 0.08), (429, 0.01), (422, 0.01))),
    Route("GET", "/api/search", 140, ((422, 0.01), (500, 0.004), (504, 0.001))),
    Route("GET", "/api/cart", 18, ((401, 0.02),)),
    Route("POST", "/api/cart/items", 45, ((422, 0.03), (409, 0.01)), 201),
    Route("GET", "/api/orders", 60, ((401, 0.01),)),
    Route("GET", "/api/orders/{order_id}", 35, ((404, 0.02), (403, 0.01))),
    Route("POST", "/api/orders", 210, ((422, 0.03), (402, 0.01), (500, 0.005)), 201),
    Route("DELETE", "/api/cart/items/{item_id}", 30, ((404, 0.04),), 204),
    Route("PUT", "/api/users/me", 70, ((422, 0.04), (401, 0.01))),
    Route("GET", "/api/categories", 15),
    Route("GET", "/api/recommendations", 320, ((500, 0.01), (503, 0.005))),
    Route("PATCH", "/api/orders/{order_id}", 85, ((404, 0.02), (409, 0.02))),
    Route("POST", "/api/auth/refresh", 25, ((401, 0.05),)),
    Route("GET", "/api/reviews/{product_id}", 48, ((404, 0.01),)),
    Route("POST", "/api/reviews", 120, ((422, 0.05), (401, 0.02)), 201),
    Route("GET", "/api/admin/reports", 900, ((403, 0.2), (500, 0.02))),
    Route("OPTIONS", "/api/products", 0.8, (), 204),
    Route("GET", "/api/notifications", 27, ((401, 0.02),)),
    Route("POST", "/api/webhooks/payments", 55, ((400, 0.02), (500, 0.003))),
    Route("GET", "/api/users/{user_id}/avatar", 9, ((404, 0.05),)),
)

USER_AGENTS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/124.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 Version/17.4 Safari",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 Mobile",
    "shop-app/3.2.1 (Android 14)",
    "python-httpx/0.27.0",
    "curl/8.5.0",
)


def zipf_weights(count: int, exponent: float = 1.1) -> list[float]:
    """Popularity of the 1st, 2nd, ... item: each a bit less popular than the one before."""
    return [1 / rank**exponent for rank in range(1, count + 1)]


def synthetic_day(end: datetime, requests: int, seed: int = 2024) -> Iterator[RequestLog]:
    """`requests` logs spread over the day before `end` (aware, UTC), oldest first."""
    rng = random.Random(seed)
    clients = _clients(rng, count=max(20, min(2000, requests // 40)))
    client_weights = zipf_weights(len(clients), 0.9)
    route_weights = zipf_weights(len(ROUTES))
    moments = sorted(_busy_moment(rng) for _ in range(requests))
    start = end - DAY
    for fraction in moments:
        route = rng.choices(ROUTES, route_weights)[0]
        ip, consumer = rng.choices(clients, client_weights)[0]
        status = _status(rng, route)
        yield RequestLog(
            created_at=start + fraction * DAY,
            method=route.method,
            endpoint=route.template,
            ip=ip,
            process_time_us=ms_to_us(_latency_ms(rng, route, status)),
            status_code=status,
            path=_path(rng, route.template),
            user_agent=rng.choice(USER_AGENTS),
            consumer=consumer,
        )


def _busy_moment(rng: random.Random) -> float:
    """A moment of the day, as a fraction of it: busiest mid-afternoon, quietest at night."""
    while True:
        fraction = rng.random()
        activity = 0.55 + 0.45 * math.sin(2 * math.pi * (fraction - 0.375))
        if rng.random() < 0.1 + 0.9 * activity:
            return fraction


def _clients(rng: random.Random, count: int) -> list[tuple[str | None, str | None]]:
    """(ip, consumer) pairs; a few IPv6 clients and a few whose address is unknown."""
    clients: list[tuple[str | None, str | None]] = []
    for index in range(count):
        roll = rng.random()
        if roll < 0.02:
            ip = None
        elif roll < 0.12:
            ip = f"2001:db8:{rng.randrange(1, 0xFFFF):x}::{rng.randrange(1, 0xFFFF):x}"
        else:
            first = rng.choice((10, 172, 192, 198, 203))
            ip = f"{first}.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"
        consumer = f"customer-{index:04d}" if rng.random() < 0.6 else None
        clients.append((ip, consumer))
    return clients


def _status(rng: random.Random, route: Route) -> int:
    roll = rng.random()
    for status, share in route.failures:
        if roll < share:
            return status
        roll -= share
    return route.success_status


def _latency_ms(rng: random.Random, route: Route, status: int) -> float:
    median = route.median_ms
    if 400 <= status < 500:
        median *= 0.4  # refused early
    elif status >= 500:
        median *= 3  # failed late, often after a timeout
    latency = rng.lognormvariate(math.log(median), 0.55)
    if rng.random() < 0.01:
        latency *= rng.uniform(4, 15)  # the slow tail: cold caches, lock waits, GC pauses
    return round(latency, 3)


def _path(rng: random.Random, template: str) -> str:
    path = template
    while "{" in path:
        head, _, rest = path.partition("{")
        _, _, tail = rest.partition("}")
        path = f"{head}{rng.randrange(1, 5000)}{tail}"
    return path
