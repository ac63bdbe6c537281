"""Sync slots: a worker runs syncs on threads of their own, a few at once and fairly between
users, so a slow calendar server holds one slot and never the job queue's threads."""

from __future__ import annotations

import itertools
import logging
import threading
from collections import Counter, deque
from collections.abc import Callable

log = logging.getLogger(__name__)


class SyncSlots:
    """Runs `run(source_id)` on at most `slots` threads, at most `per_user` per user.

    Why: a sync spends most of its time waiting on someone else's server (up to the fetch
    deadline). Run on the queue's own threads (CALSYNC_WORKER_THREADS), two slow sources
    would hold every thread, and the minute tick, prompts, write-backs and every other
    user's sync would wait behind them. Instead the `sync_source` job only hands the source
    to these slots and returns at once. One sync holds one slot until it ends (the fetch
    deadline bounds it); one user holds at most `per_user` slots; a freed slot goes to the
    waiting user served longest ago. A source already waiting or running is not queued twice.

    The waiting line lives in memory: a worker that dies loses it, and the sources, still
    due and unlocked, are queued again by the next minute tick.
    """

    def __init__(self, run: Callable[[int], None], *, slots: int, per_user: int) -> None:
        self._run = run
        self.slots = slots
        self.per_user = per_user
        self._lock = threading.Lock()
        self._waiting: dict[int, deque[int]] = {}  # user id -> source ids, in arrival order
        self._queued: set[int] = set()  # source ids waiting or running
        self._running: Counter[int] = Counter()  # user id -> syncs running
        self._served: dict[int, int] = {}  # user id -> when they last got a slot
        self._turns = itertools.count()
        self.busy = 0

    def submit(self, user_id: int, source_id: int) -> bool:
        """Queue a sync of `source_id`; False when it is already waiting or running."""
        with self._lock:
            if source_id in self._queued:
                return False
            self._queued.add(source_id)
            self._waiting.setdefault(user_id, deque()).append(source_id)
            self._start_what_fits()
            return True

    def _start_what_fits(self) -> None:
        while self.busy < self.slots:
            user_id = self._next_user()
            if user_id is None:
                return
            line = self._waiting[user_id]
            source_id = line.popleft()
            if not line:
                del self._waiting[user_id]
            self.busy += 1
            self._running[user_id] += 1
            self._served[user_id] = next(self._turns)
            threading.Thread(target=self._work, args=(user_id, source_id),
                             name=f"sync-{source_id}", daemon=True).start()

    def _next_user(self) -> int | None:
        """The waiting user with a free share who was served longest ago (never: first)."""
        ready = [user for user in self._waiting if self._running[user] < self.per_user]
        return min(ready, key=lambda user: self._served.get(user, -1), default=None)

    def _work(self, user_id: int, source_id: int) -> None:
        try:
            self._run(source_id)
        except Exception:
            # sync_source records a source's failures itself; this is the last line so a
            # bug can never leak the slot.
            log.exception("sync of source %s failed outside the sync", source_id)
        finally:
            with self._lock:
                self.busy -= 1
                self._running[user_id] -= 1
                self._queued.discard(source_id)
                if not self._running[user_id]:
                    del self._running[user_id]
                    if user_id not in self._waiting:
                        self._served.pop(user_id, None)  # forget users with nothing to do
                self._start_what_fits()
