"""The `calsync` command as a script uses it: real processes, stdout for results only."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

CALSYNC = str(Path(sys.executable).parent / "calsync")


@pytest.fixture
def cli_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CALSYNC_", "DATABASE_"))}
    env.update(CALSYNC_INSTANCE_PATH=str(tmp_path / "instance"), SECRET_KEY="cli-test",
               CALSYNC_ALLOW_PRIVATE_URLS="1")
    env.pop("REDIS_URL", None)
    return env


def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([CALSYNC, *args], env=env, capture_output=True, text=True,
                          timeout=60, check=False)


def test_scripted_setup_prints_only_the_token(cli_env: dict[str, str]) -> None:
    assert run(cli_env, "db", "upgrade").returncode == 0
    created = run(cli_env, "users", "create", "Rep@Example.com", "--password", "long enough",
                  "--timezone", "America/Chicago")
    assert created.returncode == 0, created.stderr
    assert created.stdout == ""
    assert "rep@example.com" in created.stderr

    token = run(cli_env, "tokens", "create", "rep@example.com")
    assert token.returncode == 0, token.stderr
    lines = token.stdout.splitlines()
    assert len(lines) == 1 and lines[0].startswith("cs_") and len(lines[0]) > 40
    assert lines[0] not in token.stderr


def test_bad_input_gets_a_sentence_and_a_failing_exit(cli_env: dict[str, str]) -> None:
    run(cli_env, "db", "upgrade")
    unknown = run(cli_env, "tokens", "create", "nobody@example.com")
    assert unknown.returncode != 0
    assert "No user with the email nobody@example.com" in unknown.stderr
    assert unknown.stdout == ""

    zone = run(cli_env, "users", "create", "a@example.com", "--password", "long enough",
               "--timezone", "Mars/Olympus")
    assert zone.returncode != 0 and "not a known time zone" in zone.stderr


def test_bad_setting_names_the_variable(cli_env: dict[str, str]) -> None:
    cli_env["CALSYNC_SYNC_INTERVAL_MINUTES"] = "soon"
    result = run(cli_env, "users", "create", "a@example.com", "--password", "long enough")
    assert result.returncode != 0
    assert "CALSYNC_SYNC_INTERVAL_MINUTES" in result.stderr
    assert "Traceback" not in result.stderr
