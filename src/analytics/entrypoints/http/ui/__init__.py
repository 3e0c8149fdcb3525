"""The browser dashboard at `/ui`: a static page that reads the JSON API with the user's key.

The page holds no numbers of its own: every value it shows comes from `/dashboard` and
`/raw_logs`, fetched by the browser with the key in the `X-API-Key` header.
"""

from analytics.entrypoints.http.ui.routes import router

__all__ = ["router"]
