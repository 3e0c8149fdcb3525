"""The API reference page, `/docs` (Swagger UI), served offline.

FastAPI's own page loads their scripts and styles from a public CDN, which a self-hosted
server on a closed network cannot reach, and which would run someone else's code next to
the keys people type into "Authorize". The same scripts ship inside the `fastapi-offline`
package; we serve them from the installed package (nothing copied into this repository),
under a policy that lets the page load nothing from elsewhere.
"""

from __future__ import annotations

from pathlib import Path

import fastapi_offline
from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

ASSETS_URL = "/docs-assets"
ASSETS_DIRECTORY = Path(fastapi_offline.__file__).parent / "static"
# Swagger UI's bootstrap script is inline; everything else is this server's.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def install_api_docs(app: FastAPI) -> None:
    """Serve `/docs`; the app must be built with `docs_url=None` (and no `/redoc`, whose
    bundle fetches a logo from its maker's site)."""
    openapi_url = app.openapi_url or "/openapi.json"
    app.mount(ASSETS_URL, StaticFiles(directory=ASSETS_DIRECTORY), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    def swagger_ui() -> HTMLResponse:
        page = get_swagger_ui_html(
            openapi_url=openapi_url,
            title=f"{app.title} - API reference",
            swagger_js_url=f"{ASSETS_URL}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS_URL}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS_URL}/favicon.png",
            # No badge fetched from the public validator service.
            swagger_ui_parameters={"validatorUrl": None},
        )
        page.headers.update(HEADERS)
        return page
