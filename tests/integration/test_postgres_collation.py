"""Rankings break ties by code point even where the database's collation is a language's.

The shared test database may use the C collation, which would hide a missing
`COLLATE "C"`; this test makes a database whose default collation is ICU English.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from analytics.adapters.sqlalchemy import SqlAlchemyLogRepository, create_database_engine
from analytics.domain.dashboard import DashboardQuery
from analytics.domain.time import Granularity
from tests.builders import request_log
from tests.contract.backends import migrated_engine, require_postgres_url

pytestmark = pytest.mark.postgres


@pytest.fixture
def english_collated_url() -> Iterator[str]:
    base = sa.make_url(require_postgres_url())
    name = f"analytics_collation_{uuid.uuid4().hex[:12]}"
    admin = create_database_engine(base.render_as_string(hide_password=False))
    admin = admin.execution_options(isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.exec_driver_sql(
                f"CREATE DATABASE {name} TEMPLATE template0 ENCODING 'UTF8' "
                "LOCALE_PROVIDER icu ICU_LOCALE 'en-US' LOCALE 'C.UTF-8'"
            )
    except sa.exc.DBAPIError as error:
        admin.dispose()
        pytest.skip(f"cannot create an ICU-collated database here: {error.orig}")
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.dispose()


def test_ties_are_ranked_by_code_point_under_an_english_collation(
    english_collated_url: str,
) -> None:
    with migrated_engine(english_collated_url) as engine:
        with engine.connect() as connection:
            english = connection.exec_driver_sql(
                "SELECT x FROM (VALUES ('/b'), ('/B'), ('/ä'), ('/a')) AS v(x) ORDER BY x"
            )
            assert english.scalars().all() != ["/B", "/a", "/b", "/ä"]  # the trap is armed
        logs = SqlAlchemyLogRepository(engine)
        endpoints = ["/b", "/B", "/ä", "/a"]
        ips = ["10.0.0.9", "10.0.0.10", "10.0.0.9", "10.0.0.10", "::a", "::A"]
        logs.add_many("owner", [request_log(endpoint=e, ip=None) for e in endpoints])
        logs.add_many("owner", [request_log(endpoint="/z", ip=ip) for ip in ips])
        data = logs.dashboard_data("owner", DashboardQuery(granularity=Granularity.DAY, top=10))
        assert [row.endpoint for row in data.endpoints] == ["/z", "/B", "/a", "/b", "/ä"]
        assert [row.ip for row in data.top_ips] == ["10.0.0.10", "10.0.0.9", "::A", "::a"]
