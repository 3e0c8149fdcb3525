"""Storage in SQLite or PostgreSQL through SQLAlchemy Core (one code base for both)."""

from analytics.adapters.sqlalchemy.engine import create_database_engine
from analytics.adapters.sqlalchemy.erasure import SqlAlchemyLogEraser
from analytics.adapters.sqlalchemy.keys import SqlAlchemyKeyRepository
from analytics.adapters.sqlalchemy.logs import SqlAlchemyLogRepository
from analytics.adapters.sqlalchemy.retention import SqlAlchemyRetention
from analytics.adapters.sqlalchemy.schema import upgrade_schema

__all__ = [
    "SqlAlchemyKeyRepository",
    "SqlAlchemyLogEraser",
    "SqlAlchemyLogRepository",
    "SqlAlchemyRetention",
    "create_database_engine",
    "upgrade_schema",
]
