"""Migrations build the schema from nothing, agree with the models, and run back and forth,
on whichever database the suite runs against."""

from __future__ import annotations

from sqlalchemy import create_engine, inspect

from calsync import migrate
from calsync.models import Base


def tables(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_upgrade_from_empty_matches_the_models(empty_database_url: str) -> None:
    migrate.upgrade(empty_database_url)
    migrate.check(empty_database_url)  # raises when autogenerate would find a difference
    assert set(Base.metadata.tables) <= tables(empty_database_url)


def test_downgrade_to_empty_and_up_again(empty_database_url: str) -> None:
    migrate.upgrade(empty_database_url)
    migrate.downgrade(empty_database_url, "base")
    assert tables(empty_database_url) <= {"alembic_version"}
    migrate.upgrade(empty_database_url)
    migrate.check(empty_database_url)
