"""Fixtures for the ICS provider tests: settings for loopback fetches, a fixed read window."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from calsync.config import Settings
from calsync.providers.base import ReadContext


@pytest.fixture
def make_settings(tmp_path: Path) -> Callable[..., Settings]:
    """Settings for fetching from loopback; keyword overrides win."""

    def make(**overrides: Any) -> Settings:
        values: dict[str, Any] = {"allow_private_urls": True, **overrides}
        return Settings.from_env({}, instance_path=tmp_path, **values)

    return make


@pytest.fixture
def context() -> ReadContext:
    """March and April 2025, for a user in Berlin: covers the fixtures and a DST change."""
    return ReadContext(datetime(2025, 3, 1, tzinfo=UTC), datetime(2025, 5, 1, tzinfo=UTC),
                       ZoneInfo("Europe/Berlin"))
