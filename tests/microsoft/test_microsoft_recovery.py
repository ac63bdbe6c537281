"""A Microsoft source whose calendar was deleted in Outlook: paused with the reason, its page
and picker say so, and choosing calendars (the picker or the API's PATCH) resumes it: synced
again, the dead calendar's subscription stopped, the picker listing the calendars as they
are now. Also: a reconnected source that synced before is not "waiting for its first
sync"."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from calsync.config import Settings
from calsync.db import get_db
from calsync.domain.vocabulary import SourceStatus
from calsync.emulator.microsoft import MicrosoftEmulator
from calsync.models import Meeting, OutboxEntry, PushChannel, Source, User
from calsync.services import sources
from tests.conftest import csrf_from
from tests.microsoft.mscal import hour, timed, tokens
from tests.microsoft.test_microsoft_pages import saved
from tests.servers.microsoft import EMAIL


def titles(app: Flask) -> set[str]:
    with app.app_context(), get_db().session() as session:
        return set(session.scalars(select(Meeting.title)))


def reading_both(app: Flask, source: Source, emulator: MicrosoftEmulator) -> tuple[str, str]:
    """The source reads the default calendar and "Sales team", writes to "Sales team", and
    has a subscription on each (as if push had opened them)."""
    default, team = emulator.calendar_ids(EMAIL)
    with app.app_context(), get_db().session() as session:
        row = session.get(Source, source.id)
        assert row is not None
        row.options = {**row.options, "default_calendar": default,
                       "calendars_read": [default, team], "calendar_written": team,
                       "calendar_names": {default: "Calendar", team: "Sales team"}}
        expires = datetime.now(UTC) + timedelta(days=2)
        session.add_all(PushChannel(source_id=row.id, calendar_id=calendar,
                                    channel_id=f"channel-{n}", token="t",
                                    resource_id=f"subscription-{n}", expires_at=expires)
                        for n, calendar in enumerate((default, team)))
        session.commit()
    return default, team


def paused_by_a_deleted_calendar(app: Flask, api: Any, source: Source,
                                 emulator: MicrosoftEmulator) -> tuple[str, str]:
    default, team = reading_both(app, source, emulator)
    emulator.add_event(default, timed(hour(2), subject="Pricing call with Acme"))
    emulator.delete_calendar(team)  # in Outlook
    assert api.post(f"/api/v1/sources/{source.id}/sync").status_code == 200
    paused = saved(app, source.id)
    assert paused.status is SourceStatus.DISABLED
    assert "“Sales team” no longer exists" in (paused.last_error or "")
    return default, team


def stopped_subscriptions(app: Flask) -> dict[str, bool]:
    """Each channel's calendar: whether it was stopped, with its stop in the outbox."""
    with app.app_context(), get_db().session() as session:
        stops = {str((e.payload or {}).get("resource_id"))
                 for e in session.scalars(select(OutboxEntry))}
        return {c.calendar_id: c.stopped_at is not None and c.resource_id in stops
                for c in session.scalars(select(PushChannel).where(
                    PushChannel.resource_id.is_not(None)))}


def test_the_api_resumes_a_source_whose_calendar_was_deleted(
        app: Flask, api: Any, microsoft_source: Source, emulator: MicrosoftEmulator) -> None:
    default, team = paused_by_a_deleted_calendar(app, api, microsoft_source, emulator)
    sid = microsoft_source.id

    chosen = api.patch(f"/api/v1/sources/{sid}",
                       json={"calendars_read": [default], "calendar_written": default})
    assert chosen.status_code == 200, chosen.get_data(as_text=True)
    assert chosen.get_json()["status"] == SourceStatus.OK  # synced again at once
    after = saved(app, sid)
    assert after.last_error is None and after.next_sync_at is not None
    assert after.options["calendars_read"] == [default]
    assert "Pricing call with Acme" in titles(app)
    assert stopped_subscriptions(app)[team]  # the dead calendar's, through the outbox


def test_the_page_and_picker_say_what_happened_and_saving_resumes(
        app: Flask, api: Any, logged_in: FlaskClient, microsoft_source: Source,
        emulator: MicrosoftEmulator) -> None:
    default, team = paused_by_a_deleted_calendar(app, api, microsoft_source, emulator)
    sid = microsoft_source.id
    picker_url = f"/microsoft/sources/{sid}/calendars"

    page = logged_in.get(f"/sources/{sid}").get_data(as_text=True)
    assert 'id="calendars-hint"' in page and "a calendar it used is gone" in page
    assert "disconnected" not in page and "Reconnect" not in page
    assert f'href="{picker_url}"' in page
    assert "Disconnect Microsoft" in page  # its tokens are still held

    # Paused, the picker still asks Graph: the deleted calendar is not offered again.
    early = emulator.add_calendar(EMAIL, "Renewals")
    picker = logged_in.get(picker_url).get_data(as_text=True)
    assert 'id="picker-paused"' in picker and "resumes syncing" in picker
    assert f'name="calendars_read" value="{team}"' not in picker
    assert f'name="calendars_read" value="{early}"' in picker
    saved_choice = logged_in.post(picker_url, data={
        "csrf_token": csrf_from(picker), "calendars_read": [default],
        "calendar_written": default})
    assert saved_choice.status_code == 302
    after = saved(app, sid)
    assert after.status is SourceStatus.OK and after.last_error is None
    assert "Pricing call with Acme" in titles(app)
    assert stopped_subscriptions(app)[team]
    page = logged_in.get(f"/sources/{sid}").get_data(as_text=True)
    assert 'id="calendars-hint"' not in page and "Sync now" in page

    # Resumed, the picker asks Graph again: "Sales team" is gone, a calendar made since is
    # there.
    new = emulator.add_calendar(EMAIL, "Leads")
    picker = logged_in.get(picker_url).get_data(as_text=True)
    assert 'id="picker-paused"' not in picker
    assert f'value="{team}"' not in picker and "Sales team" not in picker
    assert f'value="{new}"' in picker and "Leads" in picker


@pytest.mark.parametrize("synced_before", [True, False])
def test_a_reconnected_source_waits_for_its_first_sync_only_if_it_never_had_one(
        db_session: Session, settings: Settings, user: User, microsoft_source: Source,
        emulator: MicrosoftEmulator, synced_before: bool) -> None:
    microsoft_source.status = SourceStatus.NEEDS_RECONNECT
    microsoft_source.last_error = "Microsoft no longer lets calsync read this calendar."
    microsoft_source.last_synced_at = datetime.now(UTC) if synced_before else None
    sources.store_account(db_session, settings, user, microsoft_source, "microsoft",
                          microsoft_source.name, dict(microsoft_source.options),
                          tokens(emulator))
    assert microsoft_source.last_error is None and microsoft_source.next_sync_at is not None
    assert microsoft_source.status is (SourceStatus.OK if synced_before else SourceStatus.NEW)
