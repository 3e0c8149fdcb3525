"""Host apps for the tests: FastAPI apps with every kind of route the middleware must name."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from pathlib import Path

from fastapi import APIRouter, BackgroundTasks, FastAPI, HTTPException
from fastapi.responses import PlainTextResponse, StreamingResponse
from fastapi.staticfiles import StaticFiles
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.routing import Route

STATIC_DIR = Path(__file__).parent / "static"


class AppFailure(Exception):
    """What the test app raises on purpose."""


def route_zoo() -> FastAPI:
    """Routes with parameters, nested included routers, mounts (with a parameter, inside an
    included router, of a FastAPI sub-app, of StaticFiles) and a router included twice."""
    app = FastAPI()

    @app.get("/items/{item_id}")
    async def item(item_id: int) -> dict[str, int]:
        return {"item_id": item_id}

    @app.post("/items")
    async def create_item() -> dict[str, bool]:
        return {"created": True}

    inner = APIRouter(prefix="/inner")

    @inner.get("/things/{thing_id}")
    async def thing(thing_id: str) -> dict[str, str]:
        return {"thing_id": thing_id}

    outer = APIRouter(prefix="/outer")
    outer.include_router(inner, prefix="/v2")

    @outer.get("/users/{user_id}/orders/{order_id}")
    async def order(user_id: int, order_id: int) -> dict[str, int]:
        return {"user_id": user_id, "order_id": order_id}

    app.include_router(outer, prefix="/api")

    shared = APIRouter()

    @shared.get("/status")
    async def status() -> dict[str, str]:
        return {"status": "ok"}

    app.include_router(shared, prefix="/v1")
    app.include_router(shared, prefix="/v2")

    sub = FastAPI()

    @sub.get("/reports/{report_id}")
    async def report(report_id: int) -> dict[str, int]:
        return {"report_id": report_id}

    app.mount("/sub", sub)

    async def org_page(request: Request) -> PlainTextResponse:
        return PlainTextResponse(request.path_params["page"])

    app.mount("/orgs/{org}/pages", Starlette(routes=[Route("/{page}", org_page)]))

    mounted_in_router = APIRouter()
    mounted_in_router.mount("/legacy", Starlette(routes=[Route("/{page}", org_page)]))
    app.include_router(mounted_in_router, prefix="/inc")

    app.mount("/static", StaticFiles(directory=STATIC_DIR))
    return app


def behaviour_app(release_background: threading.Event | None = None) -> FastAPI:
    """Statuses, raised exceptions, streaming and a background task."""
    app = FastAPI()
    add_behaviour_routes(app, release_background)
    return app


def every_route_app() -> FastAPI:
    """`route_zoo` and the behaviour routes together: what the end-to-end test drives."""
    app = route_zoo()
    add_behaviour_routes(app)

    @app.get("/health")
    async def health() -> dict[str, bool]:
        return {"ok": True}

    return app


def add_behaviour_routes(app: FastAPI, release_background: threading.Event | None = None) -> None:
    @app.get("/ok")
    async def ok() -> dict[str, bool]:
        return {"ok": True}

    @app.get("/n/{number}")
    async def numbered(number: int) -> dict[str, int]:
        return {"number": number}

    @app.get("/teapot")
    async def teapot() -> None:
        raise HTTPException(status_code=418)

    @app.get("/crash")
    async def crash() -> None:
        raise AppFailure("on purpose")

    @app.get("/stream")
    async def stream() -> StreamingResponse:
        async def chunks() -> AsyncIterator[bytes]:
            for index in range(3):
                await asyncio.sleep(0.1)
                yield f"chunk {index}\n".encode()

        return StreamingResponse(chunks())

    @app.get("/background")
    async def background(tasks: BackgroundTasks) -> dict[str, bool]:
        def wait_for_release() -> None:
            if release_background is not None:
                release_background.wait(30)

        tasks.add_task(wait_for_release)
        return {"scheduled": True}

    @app.get("/whoami")
    async def whoami(request: Request) -> dict[str, str]:
        request.state.consumer = request.headers.get("x-client", "")
        return {"client": request.state.consumer}
