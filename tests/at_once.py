"""Runs one action in several threads at once, for tests of what racing workers do."""

from __future__ import annotations

import threading
from collections.abc import Callable


def at_once(action: Callable[[threading.Barrier], None], threads: int = 2,
            timeout: float = 60) -> list[BaseException]:
    """Runs `action` in `threads` threads, each given one barrier to wait on where the race
    should start; returns what they raised (a thread's failure would otherwise only be
    printed)."""
    start = threading.Barrier(threads)
    raised: list[BaseException] = []

    def run() -> None:
        try:
            action(start)
        except BaseException as error:  # kept for the caller's assertion
            raised.append(error)

    running = [threading.Thread(target=run) for _ in range(threads)]
    for thread in running:
        thread.start()
    for thread in running:
        thread.join(timeout=timeout)
    return raised
