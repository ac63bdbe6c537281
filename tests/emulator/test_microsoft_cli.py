"""`calsync microsoft-emulator` as a process: it prints the three settings calsync needs,
serves TLS that its CA file verifies, and on SIGTERM removes its key files."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import requests

from tests.servers.processes import stop

CALSYNC = str(Path(sys.executable).parent / "calsync")


def settings_from(process: subprocess.Popen[str]) -> dict[str, str]:
    assert process.stdout is not None
    found: dict[str, str] = {}
    while "CALSYNC_MICROSOFT_CA_BUNDLE" not in found:
        line = process.stdout.readline()
        assert line, "the emulator ended before printing its settings"
        name, sep, value = line.strip().partition("=")
        if sep and name.startswith("CALSYNC_MICROSOFT_"):
            found[name] = value
    return found


def test_the_command_prints_its_settings_and_cleans_up(tmp_path: Path) -> None:
    copied = tmp_path / "microsoft-ca.pem"
    for ca_file in (None, copied):
        extra = ["--ca-file", str(ca_file)] if ca_file else []
        with subprocess.Popen([CALSYNC, "microsoft-emulator", "--port", "0", *extra],
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                              text=True) as process:
            try:
                settings = settings_from(process)
                bundle = settings["CALSYNC_MICROSOFT_CA_BUNDLE"]
                authority = settings["CALSYNC_MICROSOFT_AUTHORITY_HOST"] + "/common"
                config = requests.get(f"{authority}/v2.0/.well-known/openid-configuration",
                                      verify=bundle, timeout=5).json()
                assert config["token_endpoint"] == f"{authority}/oauth2/v2.0/token"
                assert settings["CALSYNC_MICROSOFT_GRAPH_ENDPOINT"].endswith("/v1.0/")
            finally:
                stop(process)
        assert process.returncode == 0
        assert Path(bundle).exists() == (ca_file is not None)  # its own copy is removed
