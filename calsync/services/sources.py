"""Adding, finding and removing a user's sources; what a provider is told about one.

Validation lives here so the pages, the API and the CLI refuse the same things.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from calsync import crypto, providers
from calsync.config import Settings
from calsync.errors import LimitReached, NotFound, ValidationFailed
from calsync.models import FollowUp, Meeting, Prompt, Source, User
from calsync.providers.base import SourceRef

URL_SCHEMES = ("http", "https", "webcal", "webcals")
STATUSES = ("new", "ok", "syncing", "error", "needs_reconnect", "disabled")


def add_source(session: Session, user: User, *, kind: str, name: str = "", url: str = "",
               upload: bytes | None = None, max_bytes: int,
               max_sources: int | None = None) -> Source:
    """A new source, due for its first sync now; raises ValidationFailed naming the field.

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


def user_sources(session: Session, user: User) -> list[Source]:
    return list(session.scalars(
        select(Source).where(Source.user_id == user.id).order_by(Source.id)))


def source_ref(settings: Settings, source: Source) -> SourceRef:
    """What the provider is told: the source's address or file, options and unsealed tokens."""
    credentials = crypto.unseal(settings, source.credentials) if source.credentials else None
    return SourceRef(id=source.id, url=source.url, data=source.upload,
                     options=dict(source.options or {}), credentials=credentials)


def store_credentials(settings: Settings, source: Source, ref: SourceRef,
                      before: dict[str, Any] | None) -> None:
    """A provider refreshed the tokens in place: seal and keep the new ones."""
    if ref.credentials is not None and ref.credentials != before:
        source.credentials = crypto.seal(settings, ref.credentials)


def delete_source(session: Session, source: Source) -> None:
    """Remove a calendar and its meetings, except the ones the user answered: those stay,
    detached, so no outcome or note is lost. Commits."""
    answered = select(Prompt.meeting_id).where(Prompt.status == "answered",
                                               Prompt.meeting_id.is_not(None))
    # Writes still on their way to this calendar can't happen now: say so on the follow-up.
    session.execute(update(FollowUp).where(
        FollowUp.target_source_id == source.id, FollowUp.write_status == "pending").values(
        write_status="failed", write_error=f"“{source.name}” was removed before this "
                                           "follow-up could be written to it."))
    session.execute(delete(Meeting).where(Meeting.source_id == source.id,
                                          Meeting.id.not_in(answered)))
    session.delete(source)
    session.commit()
