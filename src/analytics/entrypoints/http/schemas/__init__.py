"""Pydantic v2 models of every request and response body and query string."""
