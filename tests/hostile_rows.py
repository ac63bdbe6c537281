"""Hostile calendars that cost rows (attendees x occurrences, minutely floods), and a child
entry point that syncs one through the real worker path and prints what it cost."""

from __future__ import annotations

import json
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

STAMP = "%Y%m%dT%H%M%SZ"


def _calendar(events: list[str]) -> bytes:
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//hostile//EN", *events,
             "END:VCALENDAR", ""]
    return "\r\n".join(lines).encode()


def attendee_storm(now: datetime, attendees: int = 1000) -> bytes:
    """One ~69 KB event with `attendees` people (mostly one outside company) every minute."""
    start = (now - timedelta(days=2)).strftime(STAMP)
    people = [f"ATTENDEE;CN=Person {n};PARTSTAT=ACCEPTED:mailto:p{n}@buyer{n % 40}.example"
              for n in range(attendees)]
    return _calendar(["BEGIN:VEVENT", "UID:storm@hostile", f"DTSTART:{start}",
                      "DURATION:PT1M", "RRULE:FREQ=MINUTELY", "SUMMARY:Storm",
                      "ORGANIZER:mailto:boss@buyer0.example", *people, "END:VEVENT"])


def minutely_flood(now: datetime, series: int = 200) -> bytes:
    """A ~31 KB feed of `series` minutely series that started three days ago (all ended)."""
    start = (now - timedelta(days=3)).strftime(STAMP)
    events = []
    for n in range(series):
        events += ["BEGIN:VEVENT", f"UID:flood-{n}@hostile", f"DTSTART:{start}",
                   "DURATION:PT1M", "RRULE:FREQ=MINUTELY", f"SUMMARY:Call {n}",
                   f"ATTENDEE:mailto:x{n}@buyer.example", "END:VEVENT"]
    return _calendar(events)


CASES = {"storm": attendee_storm, "flood": minutely_flood}


def sync_case(case: str, directory: str = "", *settings: str) -> None:
    """Child entry point: a fresh SQLite instance, one user, one upload, one sync; prints JSON.

    `settings` are NAME=VALUE environment settings layered on the defaults.
    """
    from sqlalchemy import func, select

    from calsync import migrate
    from calsync.config import Settings
    from calsync.db import Database
    from calsync.jobs import sync
    from calsync.models import Meeting, Prompt, Source
    from calsync.services import accounts, sources

    folder = Path(directory or tempfile.mkdtemp(prefix="hostile-"))
    url = f"sqlite:///{folder / 'calsync.db'}"
    migrate.upgrade(url)
    env = dict(item.split("=", 1) for item in settings)
    config = Settings.from_env(env, instance_path=folder, database_url=url,
                               secret_key="bench", testing=True)
    database = Database(url)
    now = datetime.now(UTC)
    with database.session() as session:
        user = accounts.create_user(session, "ana@acme-sales.com", None, "UTC")
        source = sources.add_source(session, user, kind="ics", name=case,
                                    upload=CASES[case](now), max_bytes=config.fetch_max_bytes)
        session.commit()
        source_id = source.id
    with database.session() as session:
        report = sync.sync_source(session, config, source_id)
    with database.session() as session:
        row = session.get(Source, source_id)
        assert row is not None
        attendees = session.scalars(select(Meeting.attendees).limit(1)).first() or []
        result = {
            "result": report.result, "status": row.status, "error": row.last_error or "",
            "warnings": list(row.warnings or []),
            "meetings": session.scalar(select(func.count(Meeting.id))),
            "prompts": session.scalar(select(func.count(Prompt.id))),
            "attendees_stored_first": len(attendees),
        }
    database.dispose()
    result["db_bytes"] = sum(p.stat().st_size for p in folder.glob("calsync.db*"))
    print(json.dumps(result))


if __name__ == "__main__":  # python -m tests.hostile_rows storm
    sync_case(*sys.argv[1:])
