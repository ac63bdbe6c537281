"""Per-test databases: a SQLite file copied from one migrated template, or with
CALSYNC_TEST_DATABASE_URL a PostgreSQL schema of the test's own, migrated and dropped."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

from sqlalchemy import create_engine, text

from calsync import migrate

SERVER_URL = os.environ.get("CALSYNC_TEST_DATABASE_URL", "")
REDIS_URL = os.environ.get("CALSYNC_TEST_REDIS_URL", "")


def backend() -> str:
    return "postgresql" if SERVER_URL else "sqlite"


def with_schema(url: str, schema: str) -> str:
    """The server URL with every connection's search_path set to `schema`."""
    joiner = "&" if "?" in url else "?"
    return f"{url}{joiner}options={quote(f'-csearch_path={schema}')}"


@contextmanager
def own_schema(migrated: bool, server_url: str = SERVER_URL) -> Iterator[str]:
    """A fresh PostgreSQL schema for one test (other processes can share it by URL)."""
    schema = f"t_{uuid.uuid4().hex[:16]}"
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        url = with_schema(server_url, schema)
        if migrated:
            migrate.upgrade(url)
        yield url
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


@contextmanager
def own_database(directory: Path, migrated: bool, template: Path | None = None
                 ) -> Iterator[str]:
    """This test's database, migrated or empty; SQLite copies the migrated template."""
    if backend() == "postgresql":
        with own_schema(migrated) as url:
            yield url
        return
    path = directory / "calsync.db"
    if migrated:
        assert template is not None
        shutil.copy(template, path)
    yield f"sqlite:///{path}"


def migrated_sqlite_template(directory: Path) -> Path:
    path = directory / "template.db"
    migrate.upgrade(f"sqlite:///{path}")
    return path
