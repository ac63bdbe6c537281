"""Alembic's environment: migrates the database named by calsync's settings."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, create_engine

from calsync.models import Base

config = context.config
url = config.get_main_option("sqlalchemy.url", "")  # calsync.migrate always sets it


def run_migrations_offline() -> None:
    context.configure(url=url, target_metadata=Base.metadata, literal_binds=True,
                      render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    given = config.attributes.get("connection")
    if given is not None:
        _run(given)
        return
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            _run(connection)
    finally:
        engine.dispose()  # a migration must not leave connections behind


def _run(connection: Connection) -> None:
    # Batch mode lets ALTERs run on SQLite, which cannot alter most things in place.
    context.configure(connection=connection, target_metadata=Base.metadata,
                      render_as_batch=True, compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
