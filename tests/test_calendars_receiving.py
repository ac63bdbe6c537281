"""Which of a user's calendars receive follow-ups, for the feed's "shown twice" warning: every
account that takes writes (Google, Microsoft, CalDAV), never a read-only feed or a paused one."""

from __future__ import annotations

from flask import Flask

from calsync.db import get_db
from calsync.models import Source, User
from calsync.services.sources import calendars_receiving_followups


def _source(user: User, kind: str, name: str, written: str | None,
            status: str = "ok") -> Source:
    options = {"calendar_written": written, "calendar_names": {written: name}} if written else {}
    return Source(user_id=user.id, kind=kind, name=name, url="", options=options, cursor={},
                  warnings=[], status=status)


def test_every_account_that_receives_follow_ups_is_named(app: Flask, user: User) -> None:
    with app.app_context(), get_db().session() as session:
        session.add_all([
            _source(user, "ics", "Team feed", None),
            _source(user, "google", "Work (Google)", "work@example.com"),
            _source(user, "microsoft", "Calendar (Outlook)", "AAMkAGI2"),
            _source(user, "caldav", "Sales (Fastmail)", "/dav/calendars/sales/"),
            _source(user, "caldav", "Paused one", "/dav/calendars/old/", status="disabled"),
        ])
        session.commit()
        assert calendars_receiving_followups(session, user) == [
            "Work (Google)", "Calendar (Outlook)", "Sales (Fastmail)"]
