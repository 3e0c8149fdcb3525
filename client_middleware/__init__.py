"""Request analytics for FastAPI/Starlette apps, sent in batches to an analytics server.

from client_middleware import AnalyticsMiddleware
app.add_middleware(AnalyticsMiddleware, api_key="...", api_base="https://...")
"""

from client_middleware.asgi import AnalyticsMiddleware
from client_middleware.middleware import create_tracking_middleware
from client_middleware.options import TrackingOptions

__all__ = ["AnalyticsMiddleware", "TrackingOptions", "create_tracking_middleware"]
__version__ = "0.2.0"
