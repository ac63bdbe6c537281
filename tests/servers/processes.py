"""Ending the calsync processes a test starts (`calsync run`, `calsync worker`)."""

from __future__ import annotations

import signal
import subprocess


def stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM, as a process manager would; killed if it hasn't ended within 30 s."""
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
