"""Helpers for the page tests: seeding meetings and prompts, posting forms with real tokens."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from calsync.db import get_db
from calsync.models import Meeting, Prompt, Source, User
from calsync.services import prompts
from tests.conftest import csrf_from


@dataclass(frozen=True)
class Seed:
    title: str
    hours_ago: float = 26.0  # when it ended
    minutes: int = 60
    attendees: tuple[str, ...] = ("buyer@northwind.example",)
    series_uid: str = ""


def seed_meetings(app: Flask, user: User, *seeds: Seed) -> dict[str, int]:
    """Meetings straight into a source of `user`, then prompted; title -> prompt id."""
    now = datetime.now(UTC)
    settings = app.extensions["calsync.settings"]
    with app.app_context(), get_db().session() as session:
        source = Source(user_id=user.id, kind="ics", name="Seeded", url="", upload=b"",
                        options={}, cursor={}, warnings=[], status="ok",
                        next_sync_at=now + timedelta(days=1))
        session.add(source)
        session.flush()
        for index, seed in enumerate(seeds):
            end = now - timedelta(hours=seed.hours_ago)
            attendees = [{"email": user.email, "name": "", "response": "accepted"}]
            attendees += [{"email": a, "name": "", "response": "accepted"}
                          for a in seed.attendees]
            session.add(Meeting(
                user_id=user.id, source_id=source.id, uid=f"seed-{index}-{seed.title}",
                recurrence_id=end.isoformat() if seed.series_uid else "",
                series_uid=seed.series_uid, title=seed.title,
                start=end - timedelta(minutes=seed.minutes), end=end, attendees=attendees,
                organizer=user.email))
        session.commit()
        prompts.create_due_prompts(session, settings, now, user_id=user.id)
        rows = session.execute(
            select(Meeting.title, Prompt.id).join(Prompt, Prompt.meeting_id == Meeting.id)
            .where(Meeting.source_id == source.id)).all()
        return {title: prompt_id for title, prompt_id in rows}


def token(client: FlaskClient) -> str:
    return csrf_from(client.get("/settings").get_data(as_text=True))


def post(client: FlaskClient, path: str, data: dict[str, Any] | None = None,
         **kwargs: Any) -> Any:
    """POST a form with the session's CSRF token, as a browser would."""
    return client.post(path, data={"csrf_token": token(client), **(data or {})}, **kwargs)


def load(app: Flask, model: type, row_id: int) -> Any:
    with app.app_context(), get_db().session() as session:
        row = session.get(model, row_id)
        session.expunge_all()
        return row


def query(app: Flask, statement: Any) -> list[Any]:
    with app.app_context(), get_db().session() as session:
        rows = list(session.scalars(statement))
        session.expunge_all()
        return rows


def prompted(app: Flask, client: FlaskClient, followup: Any) -> tuple[Prompt, str]:
    """The prompt calsync makes once `followup`'s time has passed, and its page."""
    with app.app_context(), get_db().session() as session:
        prompts.create_due_prompts(session, app.extensions["calsync.settings"],
                                   followup.end + timedelta(hours=1))
    [asked] = query(app, select(Prompt).where(Prompt.followup_id == followup.id))
    return asked, client.get(f"/prompts/{asked.id}").get_data(as_text=True)


@pytest.fixture
def seeded(app: Flask, user: User, logged_in: FlaskClient) -> dict[str, int]:
    return seed_meetings(
        app, user,
        Seed("Northwind discovery call", hours_ago=50),
        Seed("Contoso demo", hours_ago=26, attendees=("lena@contoso.example",)),
    )
