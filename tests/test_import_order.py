"""Every calsync module imports on its own, first: an import cycle shows only when one of
its modules is imported before the others, which the suite's own order can hide."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import calsync

# Forks once per module from an interpreter that has loaded the third-party packages but
# no calsync module, so each child imports exactly one module first, in about 50 ms.
CHILD = """
import importlib, os, sys
import flask, sqlalchemy, icalendar, pydantic, huey, googleapiclient.discovery  # noqa
failed = []
for name in sys.argv[1:]:
    pid = os.fork()
    if pid == 0:
        try:
            importlib.import_module(name)
        except BaseException as error:
            print(f"{name}: {type(error).__name__}: {error}", flush=True)
            os._exit(1)
        os._exit(0)
    _, status = os.waitpid(pid, 0)
    if status:
        failed.append(name)
sys.exit(1 if failed else 0)
"""


def _modules() -> list[str]:
    return sorted(m.name for m in pkgutil.walk_packages(calsync.__path__, "calsync.")
                  if ".migrations" not in m.name and m.name != "calsync.wsgi")


def test_every_module_imports_first_without_a_cycle() -> None:
    modules = _modules()
    assert "calsync.services.sources" in modules and "calsync.jobs.effects" in modules
    result = subprocess.run([sys.executable, "-c", CHILD, *modules], capture_output=True,
                            text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
