"""The background expiry ends before the server releases the storage it uses."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from datetime import timedelta

from anyio import to_thread

from analytics.application.expire_old_data import ExpiryReport
from analytics.entrypoints.http.expiry import expiring_old_data
from analytics.entrypoints.settings import Settings


class SlowExpiry:
    """A run that, like `ExpireOldData`, checks `keep_going` between transactions and
    finishes the transaction it is in."""

    def __init__(self, events: list[str]) -> None:
        self.started = threading.Event()
        self._events = events

    def execute(self, kept_for: timedelta | None, keep_going: Callable[[], bool]) -> ExpiryReport:
        self.started.set()
        while keep_going():
            time.sleep(0.01)
        time.sleep(0.2)  # the transaction in progress when asked to stop
        self._events.append("expiry run ended")
        return ExpiryReport()


class ContainerWithSlowExpiry:
    def __init__(self, expiry: SlowExpiry) -> None:
        self._expiry = expiry

    def expire_old_data(self) -> SlowExpiry:
        return self._expiry


def test_leaving_the_block_waits_for_the_run_in_progress() -> None:
    events: list[str] = []
    expiry = SlowExpiry(events)
    settings = Settings(database_url="memory://", expiry_interval_seconds=3600)

    async def serve_then_shut_down() -> None:
        async with expiring_old_data(ContainerWithSlowExpiry(expiry), settings):  # type: ignore[arg-type]
            await to_thread.run_sync(expiry.started.wait)
        events.append("storage released")  # what the lifespan does next

    asyncio.run(serve_then_shut_down())
    assert events == ["expiry run ended", "storage released"]
