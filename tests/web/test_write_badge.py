"""A follow-up's write on its prompt and deal pages: the badge names the calendar it went to
(whatever the provider), and a failed write's error is text beside a short badge, with a
Retry that writes it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from calsync.errors import SourceError
from calsync.jobs import sync
from calsync.models import FollowUp, Source, User
from tests.plugins import memory
from tests.test_sync import NOW, meeting
from tests.test_writeback import WRITABLE, plan
from tests.web.conftest import post

# What a CalDAV server's refusal reads like: long, with no short word to break it at first.
REFUSED = ("The CalDAV server at caldav.example.com refused the user name or password "
           "(HTTP 403). Check the user name and password. Many servers (iCloud, Fastmail, "
           "Nextcloud with two-factor sign-in) need an app-specific password instead of the "
           "usual one. https://caldav.example.com/remote.php/dav/calendars/ana/shared/")


@pytest.fixture
def source(db_session: Session, settings, user: User) -> Iterator[Source]:  # type: ignore[no-untyped-def]
    """A writable account whose follow-ups go to its calendar "Pipeline"."""
    row = Source(user_id=user.id, kind=WRITABLE, name="Ana's account", url="",
                 options={"calendar_written": "pipe", "calendars_read": ["pipe"],
                          "calendar_names": {"pipe": "Pipeline"}},
                 cursor={}, warnings=[], next_sync_at=NOW)
    db_session.add(row)
    db_session.commit()
    memory.CALENDARS[row.id] = [meeting("demo")]
    sync.sync_source(db_session, settings, row.id, now=NOW)
    yield row
    for table in (memory.CALENDARS, memory.WRITTEN, memory.INSERTS):
        table.pop(row.id, None)
    memory.WRITE_FAILURES.clear()


def pages(client: FlaskClient, followup: FollowUp) -> list[str]:
    prompt = f"/prompts/{followup_prompt(client, followup)}"
    return [client.get(prompt).get_data(as_text=True),
            client.get(f"/deals/{followup.deal_id}").get_data(as_text=True)]


def followup_prompt(client: FlaskClient, followup: FollowUp) -> int:
    deal = client.get(f"/deals/{followup.deal_id}").get_data(as_text=True)
    return int(deal.split('href="/prompts/')[1].split('"')[0])


def test_the_badge_names_the_calendar_written_to(logged_in: FlaskClient, db_session: Session,
                                                 settings, user: User,  # type: ignore[no-untyped-def]
                                                 source: Source) -> None:
    followup = plan(db_session, settings, user)
    assert followup.write_status == "written"
    for page in pages(logged_in, followup):
        assert 'class="badge ok write-status">written to “Pipeline”</span>' in page
        assert "Google Calendar</span>" not in page


def test_a_calendar_without_a_name_is_called_by_its_source(
        logged_in: FlaskClient, db_session: Session, settings, user: User,  # type: ignore[no-untyped-def]
        source: Source) -> None:
    source.options = {**source.options, "calendar_names": {}}
    db_session.commit()
    followup = plan(db_session, settings, user)
    for page in pages(logged_in, followup):
        assert "written to “Ana&#39;s account”</span>" in page


def test_a_failed_write_says_why_beside_a_short_badge_and_retries(
        logged_in: FlaskClient, db_session: Session, settings, user: User,  # type: ignore[no-untyped-def]
        source: Source) -> None:
    memory.WRITE_FAILURES.append(SourceError(REFUSED))
    followup = plan(db_session, settings, user)
    assert followup.write_status == "failed"
    deal = f"/deals/{followup.deal_id}"
    for page in pages(logged_in, followup):
        assert '<span class="badge error write-status">failed</span>' in page
        assert (f'<span class="write-error">Not written to “Pipeline”: {REFUSED}</span>'
                in page)
    retried = post(logged_in, f"/followups/{followup.id}/retry", {"next": deal})
    assert retried.status_code == 302 and retried.headers["Location"].endswith(deal)
    page = logged_in.get(deal).get_data(as_text=True)
    assert "written to “Pipeline”" in page and "write-error" not in page
