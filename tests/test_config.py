"""Settings: read from the environment, validated with the variable named, documented everywhere."""

from __future__ import annotations

from pathlib import Path

import pytest

from calsync.config import Settings, documented_settings
from calsync.errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent


def test_environment_values_are_parsed(tmp_path: Path) -> None:
    settings = Settings.from_env({
        "CALSYNC_INSTANCE_PATH": str(tmp_path),
        "CALSYNC_ALLOW_PRIVATE_URLS": "yes",
        "CALSYNC_WINDOW_FUTURE_DAYS": "60",
        "BASE_URL": "https://calsync.example",
    })
    assert settings.allow_private_urls is True
    assert settings.window_future_days == 60
    assert settings.is_https
    assert settings.database_url == f"sqlite:///{tmp_path / 'calsync.db'}"
    assert settings.queue_path == str(tmp_path / "queue.db")


@pytest.mark.parametrize(("variable", "value"), [
    ("CALSYNC_WINDOW_PAST_DAYS", "-3"),
    ("CALSYNC_FETCH_MAX_BYTES", "lots"),
    ("CALSYNC_ALLOW_PRIVATE_URLS", "maybe"),
])
def test_bad_values_name_the_variable(variable: str, value: str) -> None:
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({variable: value})
    assert caught.value.variable == variable
    assert value in str(caught.value)


def test_secret_key_is_generated_once(tmp_path: Path) -> None:
    settings = Settings.from_env({"CALSYNC_INSTANCE_PATH": str(tmp_path)})
    first = settings.load_secret_key()
    assert len(first) >= 32
    assert settings.load_secret_key() == first
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


@pytest.mark.parametrize("document", ["README.md", "config/calsync.env.example"])
def test_every_setting_is_documented(document: str) -> None:
    text = (ROOT / document).read_text()
    missing = [env for env, _default, _help in documented_settings() if env not in text]
    assert missing == []
