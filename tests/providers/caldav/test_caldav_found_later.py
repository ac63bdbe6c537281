"""Calendars made on a CalDAV server after connecting, against real servers: read while the
user never chose the calendars, listed by the picker, and left alone once the user chose."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta

from sqlalchemy.orm import Session

from calsync.config import Settings
from calsync.models import User
from calsync.providers.base import ReadContext, SourceRef
from calsync.providers.caldav import CHOSEN, CaldavProvider
from calsync.services import caldav_connect
from tests.providers.caldav.test_caldav_provider import vevent
from tests.servers.caldav_servers import CaldavServer


def uids(provider: CaldavProvider, source: SourceRef, cursor: dict[str, object],
         context: ReadContext) -> tuple[set[str], dict[str, object]]:
    changes = provider.read(source, cursor, context)
    return {m.uid for m in changes.meetings}, changes.cursor


def test_until_the_user_chooses_every_calendar_is_read(
        caldav_server: CaldavServer, make_settings: Callable[..., Settings],
        context: ReadContext) -> None:
    provider = CaldavProvider(make_settings())
    calendars = caldav_server.calendars
    options = {"calendars_read": [calendars["personal"], calendars["work"]],
               "calendar_written": calendars["work"], CHOSEN: False}
    source = SourceRef(id=1, url=caldav_server.base_url, options=options,
                       credentials={"username": caldav_server.username,
                                    "password": caldav_server.password})
    caldav_server.put("work", "w", vevent("w", "20250305T100000Z", "20250305T110000Z"))
    first, cursor = uids(provider, source, {}, context)
    assert first == {"w"}
    caldav_server.make_calendar("neu")
    caldav_server.put("neu", "n", vevent("n", "20250306T100000Z", "20250306T110000Z"))

    # The next full read (the window moved on a day) finds it; chosen calendars stay as chosen.
    tomorrow = replace(context, window_end=context.window_end + timedelta(days=1))
    assert uids(provider, source, cursor, tomorrow)[0] == {"w", "n"}
    chose = replace(source, options={**options, CHOSEN: True})
    assert uids(provider, chose, cursor, tomorrow)[0] == {"w"}
    # The picker listed it meanwhile: read at once, not a day later.
    listed = replace(source, options={**options, "calendars_read": [
        *options["calendars_read"], calendars["neu"]]})
    seen, later = uids(provider, listed, cursor, context)
    assert seen == {"w", "n"}
    assert provider.read(listed, later, context).unchanged  # and then idle again


def test_the_picker_lists_new_calendars_and_reads_them_until_the_user_chooses(
        db_session: Session, settings: Settings, user: User,
        caldav_server: CaldavServer) -> None:
    owner = db_session.get(User, user.id)
    assert owner is not None
    source = caldav_connect.connect(db_session, settings, owner, url=caldav_server.base_url,
                                    username=caldav_server.username,
                                    password=caldav_server.password)
    assert source.options[CHOSEN] is False
    neu = caldav_server.make_calendar("neu")

    choices = caldav_connect.calendar_choices(db_session, settings, source)
    assert "Neu" in {c["name"] for c in choices}
    assert neu in source.options["calendars_read"]

    work = caldav_server.calendars["work"]
    caldav_connect.choose_calendars(db_session, settings, source, [work], work)
    assert source.options[CHOSEN] is True
    caldav_server.make_calendar("later")
    caldav_connect.calendar_choices(db_session, settings, source)
    assert source.options["calendars_read"] == [work]
    # Connecting again (a new password) keeps the choice.
    again = caldav_connect.connect(db_session, settings, owner, url=caldav_server.base_url,
                                   username=caldav_server.username,
                                   password=caldav_server.password)
    assert again.options["calendars_read"] == [work] and again.options[CHOSEN] is True
