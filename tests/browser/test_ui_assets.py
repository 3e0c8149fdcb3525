"""The /ui router on its own: headers, content types, and a page the strict CSP allows.

These need no browser: they read what the router serves and the files it serves them from.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from analytics.entrypoints.http.ui import router
from analytics.entrypoints.http.ui.routes import CONTENT_SECURITY_POLICY, assets

STATIC = Path(__file__).resolve().parents[2] / "src/analytics/entrypoints/http/ui/static"
EXPECTED_HEADERS = {
    "content-security-policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
}


@pytest.fixture
def client() -> Iterator[TestClient]:
    app = FastAPI()
    app.include_router(router)
    with TestClient(app) as test_client:
        yield test_client


def _static_paths(suffix: str) -> list[Path]:
    return sorted(STATIC.rglob(f"*{suffix}"))


def test_the_policy_is_the_strict_one() -> None:
    assert EXPECTED_HEADERS["content-security-policy"] == CONTENT_SECURITY_POLICY


def test_page_is_html_with_every_security_header(client: TestClient) -> None:
    response = client.get("/ui")

    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    for name, value in EXPECTED_HEADERS.items():
        assert response.headers[name] == value
    assert "<title>API analytics</title>" in response.text


@pytest.mark.parametrize(
    ("path", "content_type"),
    [
        ("/ui/static/app.css", "text/css; charset=utf-8"),
        ("/ui/static/js/main.js", "text/javascript; charset=utf-8"),
        ("/ui/static/js/charts.js", "text/javascript; charset=utf-8"),
        ("/ui/static/icon.svg", "image/svg+xml"),
    ],
)
def test_assets_have_their_content_type_and_the_headers(
    client: TestClient, path: str, content_type: str
) -> None:
    response = client.get(path)

    assert response.status_code == 200
    assert response.headers["content-type"] == content_type
    for name, value in EXPECTED_HEADERS.items():
        assert response.headers[name] == value


def test_every_static_file_is_served(client: TestClient) -> None:
    on_disk = {
        str(path.relative_to(STATIC))
        for path in STATIC.rglob("*")
        if path.is_file() and path.name != "index.html"
    }

    assert on_disk == set(assets()) - {"index.html"}
    for name in on_disk:
        assert client.get(f"/ui/static/{name}").content == (STATIC / name).read_bytes()


@pytest.mark.parametrize(
    "path",
    [
        "/ui/static/missing.js",
        "/ui/static/../routes.py",
        "/ui/static/%2e%2e/routes.py",
        "/ui/static/..%2f__init__.py",
        "/ui/static/index.html",
    ],
)
def test_anything_else_under_static_is_not_found(client: TestClient, path: str) -> None:
    assert client.get(path).status_code == 404


def test_unchanged_asset_revalidates_with_304(client: TestClient) -> None:
    first = client.get("/ui/static/js/main.js")

    again = client.get("/ui/static/js/main.js", headers={"If-None-Match": first.headers["etag"]})

    assert again.status_code == 304
    assert again.content == b""
    changed = client.get("/ui/static/js/main.js", headers={"If-None-Match": '"other"'})
    assert changed.status_code == 200


class _PageParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.script_text: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self._in_script = tag == "script"

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.script_text.append(data)


def _page() -> _PageParser:
    parser = _PageParser()
    parser.feed((STATIC / "index.html").read_text())
    return parser


def test_page_has_no_inline_script_style_or_handler() -> None:
    page = _page()

    assert page.script_text == []
    assert all(attrs.get("src") for tag, attrs in page.tags if tag == "script")
    assert not [tag for tag, _ in page.tags if tag == "style"]
    for tag, attrs in page.tags:
        assert "style" not in attrs, tag
        assert not [name for name in attrs if name.startswith("on")], tag


def test_page_loads_only_our_own_files() -> None:
    references = [
        attrs.get("src") or attrs.get("href")
        for tag, attrs in _page().tags
        if tag in {"script", "link", "img"}
    ]

    assert references
    for reference in references:
        assert reference is not None
        assert reference.startswith("ui/static/"), reference
        assert reference.removeprefix("ui/static/") in assets()


def test_module_imports_resolve_to_served_files() -> None:
    for path in _static_paths(".js"):
        for target in re.findall(r'from "(\./[^"]+)"', path.read_text()):
            resolved = (path.parent / target).resolve()
            assert resolved.is_file(), f"{path.name} imports missing {target}"


# Writing HTML from strings, evaluating text as code, or keeping the key beyond the tab
# would each undo what the CSP and sessionStorage give; none of it may appear.
FORBIDDEN_IN_SCRIPTS = [
    "innerHTML",
    "outerHTML",
    "insertAdjacentHTML",
    "document.write",
    "eval(",
    "new Function",
    "localStorage",
    "document.cookie",
    'setAttribute("style"',
]


@pytest.mark.parametrize("path", _static_paths(".js"), ids=lambda p: p.name)
def test_scripts_never_build_html_from_strings(path: Path) -> None:
    source = path.read_text()

    for construct in FORBIDDEN_IN_SCRIPTS:
        assert construct not in source, construct


@pytest.mark.parametrize(
    "path", _static_paths(".js") + _static_paths(".css") + _static_paths(".html"), ids=str
)
def test_nothing_is_loaded_from_another_origin(path: Path) -> None:
    # The SVG namespace is an identifier, never fetched.
    source = path.read_text().replace("http://www.w3.org/2000/svg", "")

    assert not re.search(r"https?://", source), path.name
    assert "@import" not in source
