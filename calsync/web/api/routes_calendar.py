"""Sources (the calendars calsync reads) and the meetings read from them."""

from __future__ import annotations

from calsync.db import get_session
from calsync.errors import ValidationFailed
from calsync.services import caldav_connect, meetings, sources
from calsync.services.google import connections
from calsync.services.microsoft import connections as microsoft
from calsync.web import current_settings
from calsync.web.api.bodies import MeetingQuery, Page, SourceIn, SourcePatchIn
from calsync.web.api.pagination import decode, encode
from calsync.web.api.registry import api_user, route, user_time
from calsync.web.api.schemas import MeetingList, SourceList, SourceOut
from calsync.web.api.serialize import meeting_out, source_out


@route("/sources", "GET", response=SourceList, query=Page)
def list_sources(query: Page) -> SourceList:
    """List your calendar sources, oldest first."""
    found = sources.list_sources(get_session(), api_user(), limit=query.limit,
                                 after=decode(query.cursor, "sources"))
    return SourceList(items=[source_out(row) for row in found.items],
                      next_cursor=encode("sources", found.next_key))


@route("/sources", "POST", response=SourceOut, status=201, body=SourceIn)
def create_source(body: SourceIn) -> SourceOut:
    """Add a calendar: an ICS feed by `url`, or an uploaded calendar's text in `ics`.

    A CalDAV account (`kind` caldav) gives `url`, `username` and `password`: its calendars
    are found first (422 naming `password` when the server refuses it, `url` when the
    address is not CalDAV); all of them are read and the account's default calendar, else
    the first, receives follow-ups until PATCH chooses.

    The calendar is read at once (for at most CALSYNC_ADD_READ_SECONDS). One that is not a
    calendar is refused with 422 naming `url` or `ics` and the reason (not found, a web
    page, not iCalendar, cut off, unreachable, a private address), and nothing is stored.
    One that reads answers `ok` with its meetings already stored. One whose server is slow
    or failing for now is kept (`new`, or `error` with the reason) and read again later.
    """
    session, settings = get_session(), current_settings()
    if body.kind == caldav_connect.KIND:
        return source_out(caldav_connect.connect(
            session, settings, api_user(), url=body.url or "", username=body.username or "",
            password=body.password or "", name=body.name))
    if body.username is not None or body.password is not None:
        raise ValidationFailed("username", "only a caldav source signs in.")
    if body.url is not None and body.ics is not None:
        raise ValidationFailed("ics", "give either a url or the calendar's text, not both.")
    upload = None if body.ics is None else body.ics.encode("utf-8")
    source = sources.add_and_sync(session, api_user(), settings, kind=body.kind,
                                  name=body.name, url=body.url or "", upload=upload,
                                  upload_field="ics")
    return source_out(source)


@route("/sources/<int:source_id>", "GET", response=SourceOut)
def get_source(source_id: int) -> SourceOut:
    """One source with its sync state."""
    return source_out(sources.get_source(get_session(), api_user(), source_id))


@route("/sources/<int:source_id>", "PATCH", response=SourceOut, body=SourcePatchIn)
def update_source(source_id: int, body: SourcePatchIn) -> SourceOut:
    """Choose a Google or CalDAV source's calendars: which are read, which receives follow-ups.

    Ids must be the account's calendars (as Google lists them, or the CalDAV calendars'
    addresses as discovery found them); the calendar that receives follow-ups must be one
    of those read. 422 names the field otherwise, and for
    sources that have no calendars to choose.
    """
    session = get_session()
    source = sources.get_source(session, api_user(), source_id)
    choose = {caldav_connect.KIND: caldav_connect.choose_calendars,
              microsoft.KIND: microsoft.choose_calendars}.get(source.kind,
                                                              connections.choose_calendars)
    choose(session, current_settings(), source, body.calendars_read, body.calendar_written)
    return source_out(sources.reread(session, source))


@route("/sources/<int:source_id>/sync", "POST", response=SourceOut, body=None)
def sync_source(source_id: int) -> SourceOut:
    """Sync a source now; answers with the source after the sync was queued.

    A disabled source, or one waiting to be reconnected, is not synced.
    """
    return source_out(sources.sync_now(get_session(), api_user(), source_id))


@route("/sources/<int:source_id>", "DELETE", response=None)
def delete_source(source_id: int) -> None:
    """Stop reading a calendar and forget its meetings.

    A Google source is disconnected first (its access revoked, its push channels stopped).
    Deals and follow-ups stay. Meetings the user answered stay too, with their answers and
    notes, as touches of their deals (their `source_id` becomes null); the other meetings
    and their unanswered prompts go.
    """
    session = get_session()
    source = sources.get_source(session, api_user(), source_id)
    connections.remove_source(session, current_settings(), source)


@route("/meetings", "GET", response=MeetingList, query=MeetingQuery, errors=("404",))
def list_meetings(query: MeetingQuery) -> MeetingList:
    """List meetings read from your sources, by start time.

    `from` and `to` filter on the start: from <= start < to.
    """
    session, user = get_session(), api_user()
    if query.source_id is not None:
        sources.get_source(session, user, query.source_id)  # 404 for another user's
    found = meetings.list_meetings(
        session, user, source_id=query.source_id,
        start_from=None if query.from_ is None else user_time(query.from_),
        start_before=None if query.to is None else user_time(query.to),
        limit=query.limit, after=decode(query.cursor, "meetings"))
    return MeetingList(items=[meeting_out(row) for row in found.items],
                       next_cursor=encode("meetings", found.next_key))
