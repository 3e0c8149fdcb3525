"""Alembic environment: runs on the connection `upgrade_schema` hands over.

There is no alembic.ini: `schema.py` builds the configuration in code, opens the
transaction (holding the migration lock) and passes its connection in `attributes`.
"""

from alembic import context

from analytics.adapters.sqlalchemy.tables import metadata

connection = context.config.attributes.get("connection")
if connection is None or context.is_offline_mode():
    raise RuntimeError("run migrations through analytics.adapters.sqlalchemy.upgrade_schema")

context.configure(connection=connection, target_metadata=metadata)
with context.begin_transaction():
    context.run_migrations()
