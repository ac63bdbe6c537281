"""Migrations build the schema from nothing, agree with the models, and run back and forth."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import create_engine, inspect

from calsync import migrate
from calsync.models import Base


def test_upgrade_from_empty_matches_the_models(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    migrate.upgrade(url)
    migrate.check(url)  # raises when autogenerate would find a difference
    tables = set(inspect(create_engine(url)).get_table_names())
    assert set(Base.metadata.tables) <= tables


def test_downgrade_to_empty_and_up_again(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'roundtrip.db'}"
    migrate.upgrade(url)
    migrate.downgrade(url, "base")
    assert set(inspect(create_engine(url)).get_table_names()) <= {"alembic_version"}
    migrate.upgrade(url)
    migrate.check(url)
