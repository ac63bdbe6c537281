"""Starts real calsync workers (Huey consumers) on request, cheaply, so a test can SIGKILL
them a hundred times: the slow imports happen once here, each worker is a fork.

Reads commands on stdin: `spawn` prints the new worker's pid; `quit` ends. Configured by
the same environment variables as `calsync worker`.
"""

from __future__ import annotations

import importlib
import os
import pkgutil
import sys

from huey.consumer import Consumer

import calsync
from calsync import logs


def import_everything() -> None:
    """Import every calsync module once, before forking: create_app imports its blueprints
    and jobs lazily, and a worker that spends its short life importing is never killed
    mid-sync or mid-write, which is what this test is about."""
    for module in pkgutil.walk_packages(calsync.__path__, "calsync."):
        if ".migrations" not in module.name:
            importlib.import_module(module.name)


def run_worker() -> None:
    """In the child: a fresh app (own database and queue connections), then consume."""
    from calsync.app import create_app
    from calsync.jobs import queue as tasks

    app = create_app()
    settings = app.extensions["calsync.settings"]
    tasks.start_slots(app)  # as `calsync worker` does: syncs on slots of their own
    # Poll briskly: a worker here lives for a second or so before it is killed.
    Consumer(app.extensions["calsync.queue"].huey, workers=settings.worker_threads,
             worker_type="thread", periodic=False, check_worker_health=False,
             initial_delay=0.05, backoff=1.2, max_delay=0.5).run()


def main() -> None:
    logs.configure("text", os.environ.get("LOG_LEVEL", "WARNING"))
    import_everything()
    for line in sys.stdin:
        command = line.strip()
        if command == "quit":
            return
        if command != "spawn":
            continue
        pid = os.fork()
        if pid == 0:
            try:
                run_worker()
            finally:
                os._exit(0)
        print(pid, flush=True)
        _reap()


def _reap() -> None:
    """Collect killed children so they don't linger as zombies."""
    try:
        while True:
            pid, _status = os.waitpid(-1, os.WNOHANG)
            if pid == 0:
                return
    except ChildProcessError:
        return


if __name__ == "__main__":
    main()
