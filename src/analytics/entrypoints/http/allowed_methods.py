"""405 answers whose `Allow` names every documented method of the path.

Starlette answers a method no route of a path takes with the `Allow` of the first route of
that path only; /raw_logs has two (GET and DELETE), so it would claim GET alone. The
OpenAPI schema lists every operation of a path, so the header is taken from there.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from starlette.exceptions import HTTPException
from starlette.responses import Response
from starlette.routing import compile_path

_OPERATIONS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}


def documented_methods(app: FastAPI, path: str) -> set[str]:
    """The methods the OpenAPI schema documents for `path` (empty if it has none)."""
    for template, operations in app.openapi().get("paths", {}).items():
        pattern, _, _ = compile_path(template)
        if pattern.match(path):
            return {name.upper() for name in operations if name in _OPERATIONS}
    return set()


async def _http_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, HTTPException)
    if error.status_code == 405:
        methods = documented_methods(request.app, request.url.path)
        if methods:
            error.headers = {**(error.headers or {}), "Allow": ", ".join(sorted(methods))}
    return await http_exception_handler(request, error)


def install_allowed_methods(app: FastAPI) -> None:
    app.add_exception_handler(HTTPException, _http_error)
