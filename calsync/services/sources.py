"""Adding, listing, syncing and removing a user's sources.

Validation lives here so the pages, the API and the CLI refuse the same things. A calendar
being added is read at once (`add_and_sync`): one that is not a calendar is refused with
the reason instead of being stored to fail at every sync.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from calsync import providers
from calsync.config import Settings
from calsync.domain.vocabulary import TOUCHED, SourceStatus, WriteStatus
from calsync.errors import (
    LimitReached,
    NotFound,
    SourceError,
    SourceUnavailable,
    ValidationFailed,
)
from calsync.jobs import queue, sync, writeback
from calsync.models import FollowUp, Meeting, Prompt, Source, User
from calsync.providers.base import ChangeSet, SourceRef
from calsync.services import accounts, paging
from calsync.services.credentials import seal_tokens

log = logging.getLogger(__name__)

URL_SCHEMES = ("http", "https", "webcal", "webcals")


def add_source(session: Session, user: User, *, kind: str, name: str = "", url: str = "",
               upload: bytes | None = None, max_bytes: int,
               max_sources: int | None = None) -> Source:
    """A new source, due for its first sync now; raises ValidationFailed naming the field.
    Part of the caller's unit of work (see `add_and_sync`).

    The pages and the API pass CALSYNC_MAX_SOURCES_PER_USER as `max_sources`.
    """
    check_new(session, user, kind=kind, url=url, upload=upload, max_bytes=max_bytes,
              max_sources=max_sources)
    url = url.strip()
    name = name.strip() or _default_name(url)
    source = Source(user_id=user.id, kind=kind, name=name[:200], url=url, upload=upload,
                    options={}, cursor={}, warnings=[], next_sync_at=datetime.now(UTC))
    session.add(source)
    session.flush()
    return source


def add_and_sync(session: Session, user: User, settings: Settings, *, kind: str,
                 name: str = "", url: str = "", upload: bytes | None = None,
                 upload_field: str = "file", now: datetime | None = None) -> Source:
    """Add a source if it reads as a calendar, with its meetings and prompts. Commits.

    The calendar is read first, for at most CALSYNC_ADD_READ_SECONDS. One that is not a
    calendar (not found, a web page, not iCalendar, cut off, unreachable, an address
    refused by the network guard) raises ValidationFailed on `url`, or on `upload_field`
    for an upload, with the reason, and nothing is stored. A server that is slow or failing
    for now may still hold the right calendar: the source is kept and its sync queued, as
    any source's. One that reads is synced within the request, as the sample is, so its
    prompts are in the inbox the user lands on.
    """
    now = now or datetime.now(UTC)
    bounded = replace(settings, fetch_timeout_seconds=min(settings.add_read_seconds,
                                                          settings.fetch_timeout_seconds))
    check_new(session, user, kind=kind, url=url, upload=upload, upload_field=upload_field,
              max_bytes=settings.fetch_max_bytes, max_sources=settings.max_sources_per_user)
    # Read before anything is written: no write transaction stays open during the read.
    read = _first_read(bounded, user, kind, url.strip(), upload,
                       "url" if url.strip() else upload_field, now)
    source = add_source(session, user, kind=kind, name=name, url=url, upload=upload,
                        max_bytes=settings.fetch_max_bytes,
                        max_sources=settings.max_sources_per_user)
    session.commit()
    if read is None:
        return queue_sync(session, source)
    # The sync applies what was read (meetings, then prompts) without reading it again.
    sync.sync_source(session, bounded, source.id, now, read=read)
    return reread(session, source)


def _first_read(settings: Settings, user: User, kind: str, url: str, upload: bytes | None,
                field: str, now: datetime) -> ChangeSet | None:
    """Read a calendar being added: what it holds, or None when its server may answer later
    (SourceUnavailable); ValidationFailed with the reason when it is not a calendar."""
    provider = providers.load(kind)(settings)
    try:
        return provider.read(SourceRef(id=0, url=url, data=upload), {},
                             sync.read_context(settings, user, now))
    except SourceUnavailable:
        return None
    except SourceError as error:
        raise ValidationFailed(field, refusal(error)) from error


def refusal(error: SourceError) -> str:
    """Why a calendar being added was refused. A transient error's hint promises a retry
    that won't come for a source that is not stored: the user is told to retry instead."""
    if error.transient:
        return f"{error.reason} Check the address, or try again in a moment."
    return str(error)


def sync_now(session: Session, user: User, source_id: int) -> Source:
    """Queue a sync of the user's source now; the source as it stands once queued.

    A disabled source, or one waiting to be reconnected, is not synced: the sync skips it.
    """
    source = get_source(session, user, source_id)
    session.commit()  # end the read, so the sync's writes are seen below
    return queue_sync(session, source)


def queue_sync(session: Session, source: Source) -> Source:
    """Queue a sync of a committed source; the source re-read afterwards, since the queue
    may have run the sync at once in a session of its own."""
    try:
        queue.enqueue("sync_source", source.id)
    except Exception:
        # The source is saved and due now: the worker's minute tick syncs it anyway.
        log.exception("could not queue a sync of source %s", source.id)
    return reread(session, source)


def reread(session: Session, source: Source) -> Source:
    """The source as the database has it now: a sync, or a change of its calendars,
    committed in another session may have changed it since this one read it."""
    session.refresh(source)
    return source


def check_new(session: Session, user: User, *, kind: str, url: str, upload: bytes | None,
              max_bytes: int, max_sources: int | None, upload_field: str = "file") -> None:
    """Refuse a source calsync can't add, whatever it holds; ValidationFailed names the field."""
    if max_sources is not None:
        check_room(session, user, max_sources, field="url" if url.strip() else upload_field)
    if kind not in providers.available():
        raise ValidationFailed("kind", f"use one of: {', '.join(providers.available())}.")
    url = url.strip()
    if bool(url) == (upload is not None):
        raise ValidationFailed("url", "give either a calendar URL or an uploaded .ics file.")
    if url:
        check_url(url)
    if upload is not None and len(upload) > max_bytes:
        raise ValidationFailed(upload_field,
                               f"the file is larger than {max_bytes // 1_000_000} MB.")


def check_room(session: Session, user: User, max_sources: int, field: str) -> None:
    """Refuse another source past CALSYNC_MAX_SOURCES_PER_USER: each one costs a sync
    every interval, so one account can't make the workers busy for everyone."""
    count = session.scalar(select(func.count(Source.id)).where(Source.user_id == user.id))
    if (count or 0) >= max_sources:
        raise LimitReached(field, f"you already have {count} calendars, the most calsync "
                                  "reads for one account; remove one to add another.")


def check_url(url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme.lower() not in URL_SCHEMES or not parts.hostname:
        raise ValidationFailed(
            "url", "enter a calendar address starting with https://, http:// or webcal://.")
    if len(url) > 2048:
        raise ValidationFailed("url", "the address is longer than 2048 characters.")


def calendars_receiving_followups(session: Session, user: User) -> list[str]:
    """The names of the user's calendars that follow-ups are written to (only an account
    that takes writes has a `calendar_written`): a feed subscribed there too would show
    each follow-up twice."""
    names = []
    for source in session.scalars(select(Source).where(Source.user_id == user.id)
                                  .order_by(Source.id)):
        options = source.options or {}
        written = options.get("calendar_written")
        if written and not source.status.paused:
            names.append(str((options.get("calendar_names") or {}).get(written) or written))
    return names


def is_upload(source: Source) -> bool:
    """An uploaded calendar: read from the bytes stored with it, never fetched again (a
    Google source has no URL either, but is read from Google)."""
    return not source.url and source.kind != "google"


def _default_name(url: str) -> str:
    if not url:
        return "Uploaded calendar"
    return urlsplit(url).hostname or "Calendar"


def get_source(session: Session, user: User, source_id: int) -> Source:
    source = session.get(Source, source_id)
    if source is None or source.user_id != user.id:
        raise NotFound("No such calendar source.")
    return source


def list_sources(session: Session, user: User, *, limit: int | None = None,
                 after: list[Any] | None = None) -> paging.Paged[Source]:
    """The user's sources, oldest first: all of them, or `limit` after the key `after`."""
    return paging.page(session, select(Source).where(Source.user_id == user.id),
                       order=[Source.id], descending=False, limit=limit, after=after)


def source_ids(session: Session, *, email: str | None = None,
               source_id: int | None = None) -> list[int]:
    """Ids of every source, oldest first; of one user's only, by email (NotFound when no
    user has it); or of `source_id` only, if it exists."""
    query = select(Source.id).order_by(Source.id)
    if email:
        query = query.where(Source.user_id == accounts.user_by_email(session, email).id)
    if source_id is not None:
        query = query.where(Source.id == source_id)
    return list(session.scalars(query))


def delete_source(session: Session, source: Source) -> None:
    """Remove a calendar and its meetings, except the ones answered (by the user, or covered
    by a later answer of their deal): those stay, detached, so no touch, outcome or note is
    lost. Commits."""
    answered = select(Prompt.meeting_id).where(Prompt.status.in_(TOUCHED),
                                               Prompt.meeting_id.is_not(None))
    # Writes still on their way to this calendar can't happen now: say so on the follow-up.
    session.execute(update(FollowUp).where(
        FollowUp.target_source_id == source.id,
        FollowUp.write_status == WriteStatus.PENDING).values(
        write_status=WriteStatus.FAILED, write_error=f"“{source.name}” was removed before this "
                                           "follow-up could be written to it."))
    session.execute(delete(Meeting).where(Meeting.source_id == source.id,
                                          Meeting.id.not_in(answered)))
    session.delete(source)
    session.commit()


def choose_calendars(session: Session, source: Source, read: list[str] | None,
                     written: str | None) -> bool:
    """Set which of an account's calendars are read and which receives follow-ups (None
    keeps that part of the choice), for any account of several calendars (Google, CalDAV,
    Microsoft); raises ValidationFailed naming the field before changing anything.
    Commits, with the writes of the user's upcoming follow-ups that no calendar received
    yet (`writeback.write_upcoming`). True when a sync is due at once: the calendars read
    changed, or the choice resumed a source paused because a calendar was gone
    (`awaits_calendars`); the caller then renews what follows them (push channels,
    subscriptions) and queues it."""
    if read is None and written is None:
        raise ValidationFailed("calendars_read", "give calendars_read, calendar_written "
                                                 "or both.")
    options = dict(source.options or {})
    read = list(dict.fromkeys(read if read is not None else options.get("calendars_read") or []))
    written = written if written is not None else str(options.get("calendar_written") or "")
    _check_choice(options, read, written)
    changed = set(read) != set(options.get("calendars_read") or [])
    resumed = awaits_calendars(source)
    options["calendars_read"], options["calendar_written"] = read, written
    source.options = options
    if resumed:
        _due_now(source)
    elif changed:
        source.next_sync_at = datetime.now(UTC)
    writeback.write_upcoming(session, source.user_id)
    session.commit()
    return changed or resumed


def awaits_calendars(source: Source) -> bool:
    """Paused because a calendar it read or writes to is gone (the provider's 404 leaves it
    disabled with its credentials; disconnecting forgets them): a new choice resumes it."""
    return source.status is SourceStatus.DISABLED and bool(source.credentials)


def _due_now(source: Source) -> None:
    """Due for a sync at once, past errors forgotten: waiting for its first sync, or back
    to OK when it synced before (not "waiting for its first sync" beside its last one)."""
    source.status = SourceStatus.OK if source.last_synced_at else SourceStatus.NEW
    source.last_error = None
    source.failure_count = 0
    source.next_sync_at = datetime.now(UTC)


def _check_choice(options: dict[str, Any], read: list[str], written: str) -> None:
    """Calendars of the account, at least one read, and follow-ups written to one that is
    read (so calsync notices a moved follow-up) and that the account may add events to."""
    names: dict[str, str] = options.get("calendar_names") or {}
    writable = set(options.get("calendars_writable") or names)
    if not read:
        raise ValidationFailed("calendars_read", "pick at least one calendar to read.")
    unknown = [c for c in read if c not in names]
    if unknown:
        raise ValidationFailed("calendars_read", f"{unknown[0]!r} is not one of this "
                                                 "account's calendars.")
    if written not in names:
        raise ValidationFailed("calendar_written", f"{written!r} is not one of this "
                                                   "account's calendars.")
    if written not in writable:
        raise ValidationFailed("calendar_written", f"calsync may not add events to "
                                                   f"“{names[written]}”; pick a calendar you own.")
    if written not in read:
        raise ValidationFailed("calendar_written", "pick a calendar calsync also reads, so it "
                                                   "notices when you move or delete a follow-up.")


def account_source(session: Session, settings: Settings, user: User, kind: str,
                   account: str, field: str) -> Source | None:
    """The user's source of `kind` connected to `account` (an account connected again is
    the same source); None when there is none yet, after checking a new one has room
    (LimitReached naming `field`). Read only."""
    source = next((row for row in session.scalars(select(Source).where(
        Source.user_id == user.id, Source.kind == kind).order_by(Source.id))
        if (row.options or {}).get("account") == account), None)
    if source is None:
        check_room(session, user, settings.max_sources_per_user, field=field)
    return source


def store_account(session: Session, settings: Settings, user: User, source: Source | None,
                  kind: str, name: str, options: dict[str, Any],
                  credentials: dict[str, Any]) -> Source:
    """An account's source as just connected: made if new, its calendars (`options`) and
    sealed credentials stored, read again from scratch at once, and the user's upcoming
    follow-ups that no calendar received yet written to it (`writeback.write_upcoming`).
    Part of the caller's unit of work."""
    if source is None:
        source = Source(user_id=user.id, kind=kind, url="", cursor={}, warnings=[])
        session.add(source)
    source.name = name[:200]
    source.options = options
    seal_tokens(settings, source, credentials)
    _due_now(source)
    writeback.write_upcoming(session, user.id)
    return source
