"""The background expiry: while the server runs, delete raw logs older than the retention
(ANALYTICS_RETENTION_DAYS) and forget batch ids older than a day, every
ANALYTICS_EXPIRY_INTERVAL_SECONDS.

The work runs in a thread, a small transaction at a time (`ExpireOldData`), so neither the
event loop nor ingest waits long behind it. Each server process runs this loop; of the
processes sharing a database (`--workers N`, several hosts) one at a time expires, and a
process that finds another one at it skips its round (`ExpireOldData`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from anyio import to_thread

from analytics.application.errors import StorageUnavailable
from analytics.containers import Container
from analytics.entrypoints.settings import Settings

logger = logging.getLogger("analytics.expiry")


@asynccontextmanager
async def expiring_old_data(container: Container, settings: Settings) -> AsyncIterator[None]:
    """Run the expiry now and then every interval until the block ends."""
    stopping = threading.Event()  # read by a run in its thread, between transactions
    stopped = asyncio.Event()  # ends the wait between runs
    task = asyncio.create_task(_expire_periodically(container, settings, stopping, stopped))
    try:
        yield
    finally:
        # Not by cancelling the task: that would not wait for a run in its thread, and the
        # caller then releases the storage under it (a closed connection mid-statement can
        # crash the process). A run in progress stops after its current transaction.
        stopping.set()
        stopped.set()
        await task


async def _expire_periodically(
    container: Container, settings: Settings, stopping: threading.Event, stopped: asyncio.Event
) -> None:
    kept_for = None if settings.retention_days is None else timedelta(days=settings.retention_days)
    while not stopping.is_set():
        await to_thread.run_sync(_expire_once, container, kept_for, stopping)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stopped.wait(), settings.expiry_interval_seconds)


def _expire_once(
    container: Container, kept_for: timedelta | None, stopping: threading.Event
) -> None:
    try:
        report = container.expire_old_data().execute(
            kept_for, keep_going=lambda: not stopping.is_set()
        )
    except StorageUnavailable as error:
        logger.warning("expiry skipped, storage unavailable: %s", error)
        return
    except Exception:  # the server keeps serving; the next run tries again
        logger.exception("expiry failed")
        return
    if report.skipped:
        logger.debug("expiry skipped: another server process is running it")
    elif report.raw_logs_deleted or report.batch_ids_forgotten:
        logger.info(
            "expiry: deleted %d raw logs, forgot %d batch ids",
            report.raw_logs_deleted,
            report.batch_ids_forgotten,
        )
