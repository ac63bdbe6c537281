"""Building the daily coach's digest and the dashboard's stats for 1,000 users with a month
of history each: time per user on SQLite and on PostgreSQL.

The baseline, measured in the same run on the same rows, is reading the user's inbox (the
first page of waiting prompts, what every visit to calsync costs). The digest is the whole
email as it would go out (`jobs.digest.digest_message`: the coach's lists, the one-click
links, both parts rendered), not sent.

    python -m bench.coach_stats [--users 1000] [--sqlite-only]
    (CALSYNC_BENCH_DATABASE_URL: the PostgreSQL server, default 127.0.0.1:5432/test)
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import insert, text

from calsync import migrate
from calsync.app import create_app
from calsync.config import Settings
from calsync.db import get_db
from calsync.domain.vocabulary import Channel, FollowUpStatus, Outcome, PromptStatus
from calsync.jobs import digest
from calsync.models import Deal, FollowUp, Meeting, Prompt, Source, User
from calsync.services import prompts, stats
from tests.databases import own_schema

POSTGRESQL = os.environ.get("CALSYNC_BENCH_DATABASE_URL",
                            "postgresql+psycopg://postgres@127.0.0.1:5432/test")
DAYS = 30
DEALS_PER_USER = 6
CHUNK = 2_000  # rows per INSERT
ZONES = ("Europe/Berlin", "America/New_York", "Asia/Kolkata", "UTC")


@dataclass
class History:
    """Every row of the generated history, by table, with ids given up front."""

    rows: dict[type[Any], list[dict[str, Any]]] = field(default_factory=dict)
    ids: dict[type[Any], int] = field(default_factory=dict)

    def add(self, model: type[Any], **row: Any) -> int:
        row["id"] = self.ids[model] = self.ids.get(model, 0) + 1
        self.rows.setdefault(model, []).append(row)
        return int(row["id"])


def month_of_history(users: int, now: datetime, seed: int = 9) -> History:
    """Per user: six deals of one to eight touches over the last month (a third won, a
    quarter lost, the rest open, a few prompts still waiting), answered half an hour to a day
    and a half after each meeting; a follow-up planned after each next step, most answered,
    some late, some missed, the open deals' last ones ahead."""
    rng = random.Random(seed)  # noqa: S311 - a benchmark's spread, not a secret
    history = History()
    for n in range(users):
        user = history.add(User, email=f"rep{n}@bench.example", password_hash=None,
                           timezone=ZONES[n % len(ZONES)], feed_token=f"bench-feed-{n}",
                           internal_domains=[])
        source = history.add(Source, user_id=user, kind="ics", name="Work", url="",
                             options={}, cursor={}, warnings=[], status="ok")
        for d in range(DEALS_PER_USER):
            _deal(history, rng, user, source, f"prospect{n}-{d}.example", now)
    return history


def _deal(history: History, rng: random.Random, user: int, source: int, name: str,
          now: datetime) -> None:
    touches = rng.randint(1, 8)
    ending = rng.choices([Outcome.YES, Outcome.NO, Outcome.NEXT_STEP], [4, 3, 5])[0]
    deal = history.add(Deal, user_id=user, name=name, key=f"domain:{name}",
                       status=ending.deal_status, closed_at=None if ending is Outcome.NEXT_STEP
                       else now - timedelta(days=1))
    ends = sorted(now - timedelta(minutes=rng.randrange(60, DAYS * 1440)) for _ in range(touches))
    for k, end in enumerate(ends):
        last = k == touches - 1
        outcome = ending if last else Outcome.NEXT_STEP
        waiting = last and ending is Outcome.NEXT_STEP and rng.random() < 0.3
        answered = min(end + timedelta(hours=rng.uniform(0.5, 36)), now)
        meeting = history.add(Meeting, user_id=user, source_id=source, uid=f"{name}-{k}",
                              title=f"Call with {name}", start=end - timedelta(hours=1), end=end,
                              attendees=[{"email": f"buyer@{name}", "name": "Buyer"}])
        history.add(Prompt, user_id=user, meeting_id=meeting, followup_id=None, deal_id=deal,
                    touch_at=end,
                    status=PromptStatus.PENDING if waiting else PromptStatus.ANSWERED,
                    outcome=None if waiting else outcome,
                    answered_at=None if waiting else answered, created_at=end)
        if outcome is Outcome.NEXT_STEP and not waiting:
            following = ends[k + 1] if not last else now + timedelta(days=rng.randint(1, 6))
            _followup(history, rng, user, deal, following - timedelta(hours=2), now)


def _followup(history: History, rng: random.Random, user: int, deal: int, start: datetime,
              now: datetime) -> None:
    end = start + timedelta(minutes=30)
    fate = "ahead" if end > now else rng.choices(["on_time", "late", "missed"], [6, 2, 2])[0]
    done = fate in ("on_time", "late")
    followup = history.add(
        FollowUp, user_id=user, deal_id=deal, uid=f"bench-{history.ids.get(FollowUp, 0) + 1}",
        summary="Send the proposal", start=start, end=end, channel=Channel.EMAIL,
        status=FollowUpStatus.DONE if done else FollowUpStatus.PLANNED, created_at=start)
    if done:
        answered = end + timedelta(hours=rng.uniform(0.2, 20) if fate == "on_time"
                                   else rng.uniform(80, 120))
        history.add(Prompt, user_id=user, meeting_id=None, followup_id=followup, deal_id=deal,
                    touch_at=end,
                    status=PromptStatus.ANSWERED, outcome=Outcome.NEXT_STEP,
                    answered_at=min(answered, now), created_at=end)


def load(app: Flask, history: History) -> None:
    """The rows, ids and all, in large INSERTs. Nothing inserts after them in the run, so
    PostgreSQL's id sequences need not move past them."""
    with app.app_context(), get_db().session() as session:
        for model in (User, Source, Deal, Meeting, FollowUp, Prompt):
            rows = history.rows[model]
            for start in range(0, len(rows), CHUNK):
                session.execute(insert(model), rows[start:start + CHUNK])
        session.commit()
        # The planner's statistics, as a database in use has them: right after a bulk load
        # PostgreSQL would plan on empty tables (10 ms a user instead of 2 for the stats)
        # until autovacuum caught up.
        session.execute(text("ANALYZE"))
        session.commit()


Step = Callable[[Any, Settings, User, datetime], object]
STEPS: dict[str, Step] = {
    "inbox (baseline)": lambda session, settings, user, now: prompts.read_inbox(
        session, user, page=1, page_size=20),
    "stats": lambda session, settings, user, now: stats.dashboard(session, settings, user, now),
    "digest": lambda session, settings, user, now: digest.digest_today(
        session, settings, user, now),
}


def measure(app: Flask, settings: Settings, users: int, now: datetime) -> dict[str, list[float]]:
    """Seconds per user for each step, each user read afresh (a new session per step)."""
    times: dict[str, list[float]] = {name: [] for name in STEPS}
    with app.app_context():
        for user_id in range(1, users + 1):
            for name, step in STEPS.items():
                with get_db().session() as session:
                    user = session.get(User, user_id)
                    assert user is not None
                    began = time.perf_counter()
                    step(session, settings, user, now)
                    times[name].append(time.perf_counter() - began)
    return times


@contextmanager
def database(backend: str, root: Path) -> Iterator[str]:
    if backend == "sqlite":
        url = f"sqlite:///{root / 'coach-stats.db'}"
        migrate.upgrade(url)
        yield url
        return
    with own_schema(True, POSTGRESQL) as url:
        yield url


def run(backend: str, users: int, history: History, now: datetime,
        root: Path) -> dict[str, list[float]]:
    with database(backend, root) as url:
        settings = Settings.from_env({}, instance_path=root / "instance", secret_key="bench",
                                     database_url=url, base_url="https://calsync.example")
        app = create_app(settings)
        load(app, history)
        try:
            return measure(app, settings, users, now)
        finally:
            with app.app_context():
                get_db().dispose()


def report(backend: str, times: dict[str, list[float]]) -> None:
    baseline = statistics.median(times["inbox (baseline)"])
    for name, seconds in times.items():
        median, p95 = statistics.median(seconds), statistics.quantiles(seconds, n=20)[-1]
        print(f"{backend:>10} {name:>17} {median * 1000:9.2f} ms {p95 * 1000:9.2f} ms "
              f"{median / baseline:8.1f}x {sum(seconds):8.1f} s")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--sqlite-only", action="store_true")
    args = parser.parse_args(argv)
    now = datetime.now(UTC).replace(microsecond=0)
    history = month_of_history(args.users, now)
    counts = ", ".join(f"{len(rows):,} {model.__tablename__}"
                       for model, rows in history.rows.items())
    print(f"digest and stats per user: {args.users:,} users, a month of history ({counts})")
    print(f"{'database':>10} {'per user':>17} {'median':>12} {'p95':>12} "
          f"{'/ inbox':>9} {'all users':>10}")
    backends = ["sqlite"] if args.sqlite_only else ["sqlite", "postgresql"]
    with tempfile.TemporaryDirectory() as tmp:
        for backend in backends:
            report(backend, run(backend, args.users, history, now, Path(tmp)))


if __name__ == "__main__":
    main()
