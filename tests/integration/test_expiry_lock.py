"""One expiry run at a time per database (PostgreSQL: per schema): a server process whose
round comes while another process holds the expiry lock skips that round."""

from __future__ import annotations

import multiprocessing
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from multiprocessing.synchronize import Event as EventType

import pytest
import sqlalchemy as sa

from analytics.adapters.sqlalchemy import (
    SqlAlchemyLogRepository,
    SqlAlchemyRetention,
    create_database_engine,
)
from analytics.application.expire_old_data import ExpireOldData, ExpiryReport
from analytics.domain.log_filter import LogFilter, LogPage
from tests.builders import request_log
from tests.contract.backends import migrated_engine, postgres_schema_url, require_postgres_url

WAIT_SECONDS = 60  # only how long to wait before failing; nothing is timed
NOW = datetime(2024, 6, 1, tzinfo=UTC)


class FixedClock:
    def now(self) -> datetime:
        return NOW


def hold_expiry_lock(url: str, held: EventType, release: EventType) -> None:
    engine = create_database_engine(url)
    try:
        with SqlAlchemyRetention(engine).try_hold() as got_it:
            if not got_it:
                raise SystemExit(3)
            held.set()
            release.wait(WAIT_SECONDS)
    finally:
        engine.dispose()


@contextmanager
def expiry_lock_held_elsewhere(url: str) -> Iterator[None]:
    """Another process holds the expiry lock of `url`'s database for the block (it fails
    if it cannot take it)."""
    context = multiprocessing.get_context("spawn")
    held, release = context.Event(), context.Event()
    child = context.Process(target=hold_expiry_lock, args=(url, held, release))
    child.start()
    try:
        while not held.wait(0.05):
            assert child.is_alive(), f"the other process got no lock (exit {child.exitcode})"
        yield
    finally:
        release.set()
        child.join(WAIT_SECONDS)
        if child.is_alive():
            child.kill()
            child.join()
    assert child.exitcode == 0


def url_of(engine: sa.Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def test_a_round_is_skipped_while_another_process_runs_the_expiry(engine: sa.Engine) -> None:
    logs = [request_log(created_at=NOW - timedelta(days=days)) for days in (30, 20, 0)]
    repository = SqlAlchemyLogRepository(engine)
    repository.add_many("owner", logs)
    retention = SqlAlchemyRetention(engine)
    expire = ExpireOldData(retention, retention, FixedClock(), lock=retention)

    with expiry_lock_held_elsewhere(url_of(engine)):
        assert expire.execute(timedelta(days=10)) == ExpiryReport(skipped=True)
        assert len(repository.list("owner", LogFilter(), LogPage())) == 3

    assert expire.execute(timedelta(days=10)) == ExpiryReport(raw_logs_deleted=2)
    assert len(repository.list("owner", LogFilter(), LogPage())) == 1
    with expiry_lock_held_elsewhere(url_of(engine)):  # the run let go of the lock
        pass


def test_the_expiry_lock_is_one_per_database(engine: sa.Engine) -> None:
    with (
        expiry_lock_held_elsewhere(url_of(engine)),
        SqlAlchemyRetention(engine).try_hold() as held,
    ):
        assert not held
    with SqlAlchemyRetention(engine).try_hold() as held:
        assert held


@pytest.mark.postgres
def test_postgres_schemas_of_one_database_have_expiry_locks_of_their_own() -> None:
    base = require_postgres_url()
    with (
        postgres_schema_url(base) as busy_url,
        postgres_schema_url(base) as other_url,
        migrated_engine(busy_url) as busy,
        migrated_engine(other_url) as other,
        expiry_lock_held_elsewhere(busy_url),
    ):
        with SqlAlchemyRetention(busy).try_hold() as held:
            assert not held
        with SqlAlchemyRetention(other).try_hold() as held:
            assert held
