"""Self-hostable API-usage analytics for FastAPI."""

__version__ = "0.1.0"
SERVICE_NAME = "fastapi-analytics"
