"""Slots: a worker runs syncs and webhook deliveries on threads of their own, a few at once
and fairly between owners, so a slow server holds one slot and never the job queue's threads."""

from __future__ import annotations

import itertools
import logging
import threading
from collections import Counter, deque
from collections.abc import Callable

log = logging.getLogger(__name__)


class Slots:
    """Runs `run(item)` on at most `slots` threads, at most `per_owner` per owner.

    Why: a sync or a webhook delivery spends most of its time waiting on someone else's
    server (up to its deadline). Run on the queue's own threads (CALSYNC_WORKER_THREADS),
    two slow servers would hold every thread, and the minute tick, prompts, write-backs and
    everyone else's syncs and deliveries would wait behind them. Instead the job only hands
    the item (a source, an outbox entry) to these slots and returns at once. One item holds
    one slot until it ends (its deadline bounds it); one owner (a user's sources, a
    webhook's deliveries) holds at most `per_owner` slots; a freed slot goes to the waiting
    owner served longest ago, and an owner's items start in the order they came. An item
    already waiting or running is not queued twice.

    The waiting line lives in memory: a worker that dies loses it, and the items, still due
    and unclaimed, are queued again by the next minute tick.
    """

    def __init__(self, run: Callable[[int], None], *, slots: int, per_owner: int,
                 name: str) -> None:
        self._run = run
        self.slots = slots
        self.per_owner = per_owner
        self.name = name  # of its threads and in its log: "sync", "webhook"
        self._lock = threading.Lock()
        self._waiting: dict[int, deque[int]] = {}  # owner -> items, in arrival order
        self._queued: set[int] = set()  # items waiting or running
        self._running: Counter[int] = Counter()  # owner -> items running
        self._served: dict[int, int] = {}  # owner -> when they last got a slot
        self._turns = itertools.count()
        self.busy = 0

    def submit(self, owner: int, item: int) -> bool:
        """Queue `item` of `owner`; False when it is already waiting or running."""
        with self._lock:
            if item in self._queued:
                return False
            self._queued.add(item)
            self._waiting.setdefault(owner, deque()).append(item)
            self._start_what_fits()
            return True

    def _start_what_fits(self) -> None:
        while self.busy < self.slots:
            owner = self._next_owner()
            if owner is None:
                return
            line = self._waiting[owner]
            item = line.popleft()
            if not line:
                del self._waiting[owner]
            self.busy += 1
            self._running[owner] += 1
            self._served[owner] = next(self._turns)
            threading.Thread(target=self._work, args=(owner, item),
                             name=f"{self.name}-{item}", daemon=True).start()

    def _next_owner(self) -> int | None:
        """The waiting owner with a free share who was served longest ago (never: first)."""
        ready = [owner for owner in self._waiting if self._running[owner] < self.per_owner]
        return min(ready, key=lambda owner: self._served.get(owner, -1), default=None)

    def _work(self, owner: int, item: int) -> None:
        try:
            self._run(item)
        except Exception:
            # A sync and an outbox entry record their own failures; this is the last line
            # so a bug can never leak the slot.
            log.exception("%s %s failed outside its job", self.name, item)
        finally:
            with self._lock:
                self.busy -= 1
                self._running[owner] -= 1
                self._queued.discard(item)
                if not self._running[owner]:
                    del self._running[owner]
                    if owner not in self._waiting:
                        self._served.pop(owner, None)  # forget owners with nothing to do
                self._start_what_fits()
