"""Routes serving the dashboard page and its assets, each with strict security headers."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from typing import Annotated

from fastapi import APIRouter, Header, HTTPException
from fastapi.responses import Response

# The page runs only our own files: no inline code, no other origin, no framing.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    # Revalidate every time (cheap with the ETag) so an upgraded server never runs old code.
    "Cache-Control": "no-cache",
}
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".svg": "image/svg+xml",
}
PAGE = "index.html"

router = APIRouter(include_in_schema=False)


@dataclass(frozen=True, slots=True)
class Asset:
    body: bytes
    content_type: str
    etag: str


@cache
def assets() -> dict[str, Asset]:
    """Every servable file under static/, by its path relative to it (read once, on first use)."""
    root = files(__package__).joinpath("static")
    found: dict[str, Asset] = {}
    pending = [(root, "")]
    while pending:
        folder, prefix = pending.pop()
        for entry in folder.iterdir():
            name = f"{prefix}{entry.name}"
            if entry.is_dir():
                pending.append((entry, f"{name}/"))
                continue
            content_type = CONTENT_TYPES.get(_suffix(entry.name))
            if content_type is None:
                continue  # only the kinds of file the page is made of are served
            body = entry.read_bytes()
            etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
            found[name] = Asset(body=body, content_type=content_type, etag=etag)
    return found


def _suffix(name: str) -> str:
    _, dot, extension = name.rpartition(".")
    return f".{extension}" if dot else ""


def _serve(asset: Asset, if_none_match: str | None) -> Response:
    headers = {**SECURITY_HEADERS, "ETag": asset.etag}
    if if_none_match is not None and asset.etag in {t.strip() for t in if_none_match.split(",")}:
        return Response(status_code=304, headers=headers)
    return Response(content=asset.body, media_type=asset.content_type, headers=headers)


@router.get("/ui")
def dashboard_page(
    if_none_match: Annotated[str | None, Header()] = None,
) -> Response:
    return _serve(assets()[PAGE], if_none_match)


@router.get("/ui/static/{name:path}")
def dashboard_asset(
    name: str,
    if_none_match: Annotated[str | None, Header()] = None,
) -> Response:
    asset = assets().get(name)
    if asset is None or name == PAGE:
        raise HTTPException(status_code=404, detail="no such file")
    return _serve(asset, if_none_match)
