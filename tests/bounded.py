"""Run one hostile case in a child process with a memory cap and a timeout, and measure it.

A regression in a bound then fails the test (the child dies or overruns) instead of
hanging the suite or eating the machine's memory. `bench/hostile.py` uses the same runner
for its before/after table.
"""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class BoundedRun:
    """How a child run ended: its exit code, output, wall time and peak resident memory."""

    returncode: int | None  # None when it overran the timeout and was killed
    stdout: str
    stderr: str
    seconds: float
    peak_rss_mb: float

    @property
    def result(self) -> object:
        """The JSON the child printed on its last line of stdout."""
        return json.loads(self.stdout.strip().splitlines()[-1])


def run_bounded(target: str, *args: str, memory_mb: int = 1024, timeout: float = 60.0,
                env: dict[str, str] | None = None) -> BoundedRun:
    """Run `module:function(*args)` in a child Python; the function prints its JSON result.

    The child's address space is capped at `memory_mb`, so a runaway allocation fails
    with MemoryError there instead of swapping here; past `timeout` it is killed.
    """
    module, function = target.split(":")
    code = f"import sys; from {module} import {function} as f; f(*sys.argv[1:])"
    limit = memory_mb * 1024 * 1024

    def cap() -> None:  # runs in the child before exec
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        started = time.monotonic()
        process = subprocess.Popen(
            [sys.executable, "-c", code, *args], cwd=ROOT, preexec_fn=cap,
            stdout=out, stderr=err, env={**os.environ, **(env or {})})
        returncode, peak_kb = _wait(process.pid, started + timeout)
        process.returncode = returncode if returncode is not None else -signal.SIGKILL
        seconds = time.monotonic() - started
        out.seek(0)
        err.seek(0)
        return BoundedRun(returncode, out.read(), err.read(), seconds, peak_kb / 1024)


def _wait(pid: int, deadline: float) -> tuple[int | None, int]:
    """Reap the child with its own rusage (peak RSS in KiB); kill it at the deadline."""
    while True:
        waited, status, usage = os.wait4(pid, os.WNOHANG)
        if waited:
            return os.waitstatus_to_exitcode(status), usage.ru_maxrss
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            _, _, usage = os.wait4(pid, 0)
            return None, usage.ru_maxrss
        time.sleep(0.02)
