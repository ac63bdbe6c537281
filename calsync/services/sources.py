"""Adding, listing, syncing and removing a user's sources.

Validation lives here so the pages, the API and the CLI refuse the same things.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from calsync import providers
from calsync.domain.vocabulary import PromptStatus, WriteStatus
from calsync.errors import LimitReached, NotFound, ValidationFailed
from calsync.jobs import queue
from calsync.models import FollowUp, Meeting, Prompt, Source, User
from calsync.services import accounts, paging

log = logging.getLogger(__name__)

URL_SCHEMES = ("http", "https", "webcal", "webcals")


def add_source(session: Session, user: User, *, kind: str, name: str = "", url: str = "",
               upload: bytes | None = None, max_bytes: int,
               max_sources: int | None = None) -> Source:
    """A new source, due for its first sync now; raises ValidationFailed naming the field.
    Part of the caller's unit of work (see `add_and_sync`).

    The pages and the API pass CALSYNC_MAX_SOURCES_PER_USER as `max_sources`.
    """
    if max_sources is not None:
        check_room(session, user, max_sources, field="url" if url.strip() else "file")
    if kind not in providers.available():
        raise ValidationFailed("kind", f"use one of: {', '.join(providers.available())}.")
    url = url.strip()
    if bool(url) == (upload is not None):
        raise ValidationFailed("url", "give either a calendar URL or an uploaded .ics file.")
    if url:
        check_url(url)
    if upload is not None and len(upload) > max_bytes:
        raise ValidationFailed("file", f"the file is larger than {max_bytes // 1_000_000} MB.")
    name = name.strip() or _default_name(url)
    source = Source(user_id=user.id, kind=kind, name=name[:200], url=url, upload=upload,
                    options={}, cursor={}, warnings=[], next_sync_at=datetime.now(UTC))
    session.add(source)
    session.flush()
    return source


def add_and_sync(session: Session, user: User, *, kind: str, name: str = "", url: str = "",
                 upload: bytes | None = None, max_bytes: int,
                 max_sources: int | None = None) -> Source:
    """Add a source as `add_source` does, commit it and queue its first sync."""
    source = add_source(session, user, kind=kind, name=name, url=url, upload=upload,
                        max_bytes=max_bytes, max_sources=max_sources)
    session.commit()
    return queue_sync(session, source)


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
    """Remove a calendar and its meetings, except the ones the user answered: those stay,
    detached, so no outcome or note is lost. Commits."""
    answered = select(Prompt.meeting_id).where(Prompt.status == PromptStatus.ANSWERED,
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
