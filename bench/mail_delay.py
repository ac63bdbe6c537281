"""Meeting end -> prompt email handed to SMTP, over 20 meetings with the default tick (every
whole minute) and grace period: the issue asks for at most grace + 60 s.

The clock the tick reads is simulated, so the run takes seconds instead of half an hour;
everything after it is real: SQLite, the prompt and its outbox entry committed together, the
queue (immediate mode) performing the entry, and an aiosmtpd server on loopback taking it.
A delay is (tick time - meeting end) + the measured time from the tick to the hand-over.
"""

from __future__ import annotations

import random
import statistics
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

from calsync import migrate
from calsync.app import create_app
from calsync.config import Settings
from calsync.db import get_db
from calsync.domain.meeting import Attendee, MeetingData
from calsync.jobs import sync
from calsync.models import Prompt, Source
from calsync.services import accounts, prompts
from tests.mail.conftest import free_port
from tests.plugins import memory

MEETINGS = 20
TICK = timedelta(minutes=1)  # the queue's tick: crontab(minute="*")


@dataclass
class Arrivals:
    """When (time.monotonic) the server took each email, by Message-ID."""

    at: dict[str, float] = field(default_factory=dict)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        for line in envelope.content.decode("utf-8", "replace").splitlines():
            if line.lower().startswith("message-id:"):
                self.at[line.split(":", 1)[1].strip()] = time.monotonic()
        return "250 2.0.0 Ok"


def ends(start: datetime, rng: random.Random) -> list[datetime]:
    """Meeting ends spread over half an hour at any second, as calendars have them."""
    return sorted(start + timedelta(seconds=rng.randrange(30 * 60)) for _ in range(MEETINGS))


def measure(root: Path, smtp_port: int, arrivals: Arrivals) -> tuple[list[float], int]:
    settings = Settings.from_env({}, instance_path=root / "instance", secret_key="bench",
                                 database_url=f"sqlite:///{root / 'mail.db'}",
                                 queue_immediate=True, smtp_url=f"smtp://127.0.0.1:{smtp_port}",
                                 base_url="https://calsync.example")
    migrate.upgrade(settings.database_url)
    app = create_app(settings)
    # Yesterday's working morning in UTC: outside the default quiet hours, in the lookback.
    start = (datetime.now(UTC) - timedelta(days=1)).replace(hour=9, minute=0, second=0,
                                                            microsecond=0)
    meeting_ends = ends(start, random.Random(9))  # noqa: S311 - a benchmark's spread
    with app.app_context(), get_db().session() as session:
        user = accounts.create_user(session, "ana@acme-sales.com", "bench password", "UTC")
        source = Source(user_id=user.id, kind="tests.plugins.memory:MemoryProvider",
                        name="bench", url="", options={}, cursor={}, warnings=[],
                        next_sync_at=start)
        session.add(source)
        session.commit()
        memory.CALENDARS[source.id] = [
            MeetingData(uid=f"m{n}", recurrence_id="", title=f"Call {n}", start=end - TICK * 30,
                        end=end, status="confirmed",
                        attendees=(Attendee(f"buyer{n}@prospect{n}.example", "Buyer"),))
            for n, end in enumerate(meeting_ends)]
        sync.sync_source(session, settings, source.id, now=start - TICK)  # nothing ended yet
        handed: list[float] = []
        tick_at = start
        while len(handed) < MEETINGS and tick_at < start + timedelta(hours=2):
            tick_at += TICK
            began = time.monotonic()
            before = set(arrivals.at)
            prompts.create_due_prompts(session, settings, tick_at)  # the tick's prompting
            for message_id in set(arrivals.at) - before:  # "<calsync.prompt.ID@host>"
                prompt = session.get(Prompt, int(message_id.split(".")[2].split("@")[0]))
                assert prompt is not None and prompt.meeting is not None
                handed.append((tick_at - prompt.meeting.end).total_seconds()
                              + arrivals.at[message_id] - began)
        memory.CALENDARS.pop(source.id, None)
        get_db().dispose()
    return handed, settings.prompt_grace_minutes * 60


def main() -> None:
    arrivals, port = Arrivals(), free_port()
    controller = Controller(arrivals, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        with tempfile.TemporaryDirectory() as root:
            delays, grace = measure(Path(root), port, arrivals)
    finally:
        controller.stop()
    print(f"Meeting end -> prompt email handed to SMTP ({len(delays)} meetings, tick every "
          f"minute, grace {grace // 60} min; bound grace + 60 s = {grace + 60} s)")
    print("  delays (s): " + " ".join(f"{d:.1f}" for d in delays))
    print(f"  median {statistics.median(delays):.1f} s, max {max(delays):.1f} s: "
          f"{'within' if max(delays) <= grace + 60 else 'OVER'} the bound")


if __name__ == "__main__":
    main()
