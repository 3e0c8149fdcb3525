"""The user's `consumer` callback: who made the request (a client id, a plan...), or None."""

from __future__ import annotations

import inspect
import logging
from typing import Any

from client_middleware.options import ConsumerCallback

logger = logging.getLogger("client_middleware")


class ConsumerOf:
    """Calls the callback with the request; a failing callback costs the field, not the request."""

    def __init__(self, callback: ConsumerCallback) -> None:
        self._callback = callback
        self._failure_logged = False

    def __call__(self, request: Any) -> str | None:
        try:
            consumer = self._callback(request)
        except Exception:
            self._log_once("analytics: the consumer callback raised; consumer left empty")
            return None
        if inspect.isawaitable(consumer):
            if hasattr(consumer, "close"):
                consumer.close()  # never awaited: close it so Python does not warn
            self._log_once("analytics: the consumer callback must not be async; ignored")
            return None
        return None if consumer is None else str(consumer)

    def _log_once(self, message: str) -> None:
        if not self._failure_logged:
            self._failure_logged = True
            logger.exception(message) if message.endswith("empty") else logger.error(message)
