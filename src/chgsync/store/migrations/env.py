"""Alembic environment: chgsync always passes its own engine, never reads alembic.ini.

On PostgreSQL the migration transaction first takes an advisory lock, so that replicas started
together (each unit runs ``chgsync db upgrade`` before the daemon) upgrade one after another: the
second finds the schema current and does nothing, instead of failing on tables the first created.
"""

from alembic import context

from chgsync.store.schema import metadata

MIGRATION_LOCK = 0x63686773  # "chgs": one advisory lock id for every chgsync schema change

engine = context.config.attributes["engine"]
with engine.connect() as connection:
    context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK})")
        context.run_migrations()
    connection.commit()
