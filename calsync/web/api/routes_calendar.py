"""Sources (the calendars calsync reads) and the meetings read from them."""

from __future__ import annotations

import logging

from sqlalchemy import select
from sqlalchemy.orm import Session

from calsync.db import get_session
from calsync.errors import ValidationFailed
from calsync.jobs import queue as tasks
from calsync.models import Meeting, Source
from calsync.services import sources
from calsync.services.google import connections
from calsync.web import current_settings
from calsync.web.api.bodies import MeetingQuery, Page, SourceIn, SourcePatchIn
from calsync.web.api.pagination import page
from calsync.web.api.registry import api_user, route, user_time
from calsync.web.api.schemas import MeetingList, SourceList, SourceOut
from calsync.web.api.serialize import meeting_out, source_out

log = logging.getLogger(__name__)


@route("/sources", "GET", response=SourceList, query=Page)
def list_sources(query: Page) -> SourceList:
    """List your calendar sources, oldest first."""
    session = get_session()
    rows, next_cursor = page(
        session, select(Source).where(Source.user_id == api_user().id), list_name="sources",
        order=[Source.id], descending=False, limit=query.limit, cursor=query.cursor)
    return SourceList(items=[source_out(row) for row in rows], next_cursor=next_cursor)


@route("/sources", "POST", response=SourceOut, status=201, body=SourceIn)
def create_source(body: SourceIn) -> SourceOut:
    """Add a calendar: an ICS feed by `url`, or an uploaded calendar's text in `ics`.

    The first sync is queued at once; the answer shows the source's status after it
    (`ok` or `error` when the queue runs inline, else `new` until a worker gets to it).
    """
    session, settings = get_session(), current_settings()
    if body.url is not None and body.ics is not None:
        raise ValidationFailed("ics", "give either a url or the calendar's text, not both.")
    sources.check_room(session, api_user(), settings.max_sources_per_user,
                       field="url" if body.ics is None else "ics")
    upload = None if body.ics is None else body.ics.encode("utf-8")
    if upload is not None and len(upload) > settings.fetch_max_bytes:
        raise ValidationFailed(
            "ics", f"the calendar is larger than {settings.fetch_max_bytes // 1_000_000} MB.")
    source = sources.add_source(session, api_user(), kind=body.kind, name=body.name,
                                url=body.url or "", upload=upload,
                                max_bytes=settings.fetch_max_bytes,
                                max_sources=settings.max_sources_per_user)
    session.commit()
    return source_out(_sync_now(session, source))


@route("/sources/<int:source_id>", "GET", response=SourceOut)
def get_source(source_id: int) -> SourceOut:
    """One source with its sync state."""
    return source_out(sources.get_source(get_session(), api_user(), source_id))


@route("/sources/<int:source_id>", "PATCH", response=SourceOut, body=SourcePatchIn)
def update_source(source_id: int, body: SourcePatchIn) -> SourceOut:
    """Choose a Google source's calendars: which are read, which receives follow-ups.

    Ids must be the account's calendars (as Google lists them); the calendar that
    receives follow-ups must be one of those read. 422 names the field otherwise, and for
    sources that are not Google's.
    """
    session, settings = get_session(), current_settings()
    source = sources.get_source(session, api_user(), source_id)
    field = "calendars_read" if body.calendars_read is not None else "calendar_written"
    if source.kind != connections.KIND:
        raise ValidationFailed(field, "only a Google Calendar source has calendars to choose.")
    if body.calendars_read is None and body.calendar_written is None:
        raise ValidationFailed("calendars_read", "give calendars_read, calendar_written "
                                                 "or both.")
    options = source.options or {}
    read = body.calendars_read if body.calendars_read is not None else list(
        options.get("calendars_read") or [])
    written = body.calendar_written if body.calendar_written is not None else str(
        options.get("calendar_written") or "")
    changed = connections.choose_calendars(session, source, read, written)
    session.commit()
    if changed:
        connections.calendars_changed(session, settings, source)
    session.refresh(source)
    return source_out(source)


@route("/sources/<int:source_id>/sync", "POST", response=SourceOut, body=None)
def sync_source(source_id: int) -> SourceOut:
    """Sync a source now; answers with the source after the sync was queued.

    A disabled source, or one waiting to be reconnected, is not synced.
    """
    session = get_session()
    source = sources.get_source(session, api_user(), source_id)
    session.commit()  # end the read, so the sync's writes are seen below
    return source_out(_sync_now(session, source))


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
    rows = select(Meeting).where(Meeting.user_id == user.id)
    if query.source_id is not None:
        sources.get_source(session, user, query.source_id)  # 404 for another user's
        rows = rows.where(Meeting.source_id == query.source_id)
    if query.from_ is not None:
        rows = rows.where(Meeting.start >= user_time(query.from_))
    if query.to is not None:
        rows = rows.where(Meeting.start < user_time(query.to))
    found, next_cursor = page(session, rows, list_name="meetings",
                              order=[Meeting.start, Meeting.id], descending=False,
                              limit=query.limit, cursor=query.cursor)
    return MeetingList(items=[meeting_out(row) for row in found], next_cursor=next_cursor)


def _sync_now(session: Session, source: Source) -> Source:
    try:
        tasks.enqueue("sync_source", source.id)
    except Exception:
        # The source is saved and due now: the worker's minute tick syncs it anyway.
        log.exception("could not queue a sync of source %s", source.id)
    session.refresh(source)
    return source
