"""The middleware between the network and the app: forwarded headers, CORS, time-outs.

Added after the body limit, so the order a request passes them in is: trusted-proxy
headers (the client IP everything after sees), CORS (its headers also on 429 and 503),
the request time-out, the body limit, the app.
"""

from __future__ import annotations

from fastapi import FastAPI
from starlette.middleware.cors import CORSMiddleware
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from analytics.entrypoints.http.security import API_KEY_HEADER
from analytics.entrypoints.http.timeout import RequestTimeout
from analytics.entrypoints.settings import Settings

CORS_METHODS = ["GET", "POST", "DELETE"]
CORS_HEADERS = [API_KEY_HEADER, "Authorization", "Content-Type", "Accept"]
# Without it a page could not read how long to wait after a 429 or 503.
CORS_EXPOSED_HEADERS = ["Retry-After"]
CORS_MAX_AGE_S = 600


def install_edge_middleware(app: FastAPI, settings: Settings) -> None:
    """Add them; each added one wraps those added before it."""
    app.add_middleware(RequestTimeout, timeout_seconds=settings.request_timeout_seconds)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=CORS_METHODS,
            allow_headers=CORS_HEADERS,
            expose_headers=CORS_EXPOSED_HEADERS,
            # Keys travel in a header, never in cookies: no credentialed requests.
            allow_credentials=False,
            max_age=CORS_MAX_AGE_S,
        )
    if settings.trusted_proxies:
        # uvicorn's own: the client is the rightmost X-Forwarded-For address that is not a
        # trusted proxy; X-Forwarded-Proto sets the scheme. `analytics serve` turns off
        # uvicorn's default, which trusts these headers from 127.0.0.1.
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=settings.trusted_proxies)
