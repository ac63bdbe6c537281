"""A promise whose working follow-up's time has passed, so its prompt asks "Delivered?":
planned through the answer service a week ago, prompted now."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from flask import Flask
from sqlalchemy import select

from calsync.db import get_db
from calsync.models import Prompt, User
from calsync.services import prompts
from calsync.services.answers import Answer, NextStep, answer_prompt
from tests.web.conftest import Seed, seed_meetings

SUMMARY = "Send SOC2 report"
VALUE = "the SOC2 report"


@dataclass(frozen=True)
class DuePromise:
    meeting_prompt: int
    prompt: int  # the promise's own prompt, asking "Delivered?"
    followup: int
    due: datetime


def due_promise(app: Flask, user: User, title: str = "Contoso security review",
                buyer: str = "lena@contoso.example",
                due_in: timedelta = timedelta(days=2)) -> DuePromise:
    """A meeting answered a week ago with a next step promised `due_in` from now, its work
    planned three hours ago: the promise's prompt waits in the inbox."""
    settings = app.extensions["calsync.settings"]
    meeting_prompt = seed_meetings(app, user, Seed(title, hours_ago=24 * 7,
                                                   attendees=(buyer,)))[title]
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    start, due = now - timedelta(hours=3), now + due_in
    with app.app_context(), get_db().session() as session:
        owner = session.get(User, user.id)
        step = NextStep(SUMMARY, start, 30, "email", promise_due=due, value_note=VALUE)
        result = answer_prompt(session, settings, owner, session.get(Prompt, meeting_prompt),
                               Answer("next_step", next_step=step),
                               now=now - timedelta(days=7))
        assert result.followup is not None
        # The working follow-up keeps the time given (the margin moves only a later one).
        result.followup.start, result.followup.end = start, start + timedelta(minutes=30)
        session.commit()
        prompts.create_due_prompts(session, settings, now, user_id=user.id)
        asked = session.scalar(select(Prompt.id).where(Prompt.followup_id == result.followup.id))
        assert asked is not None
        return DuePromise(meeting_prompt, asked, result.followup.id, due)
