"""Writing follow-ups into a CalDAV calendar: PUT with If-None-Match (a retried create finds
its own event) or If-Match (a concurrent edit is re-read, a time the user chose is kept), and
DELETE with If-Match, only ever of calsync's own event."""

from __future__ import annotations

from urllib.parse import quote, urljoin

from calsync.errors import SourceError
from calsync.providers.base import FOLLOWUP_MARK, OutgoingEvent, RemoteEvent
from calsync.providers.caldav_http import DavClient, refused
from calsync.providers.caldav_ical import event_object, mark_of, times_of

WRITE_TRIES = 3  # a 412 means someone edited meanwhile: read, re-apply, try again


def item_url(calendar: str, event_id: str) -> str:
    """Where a follow-up's object lives: its derived id, so a retry finds the same place."""
    return urljoin(calendar.rstrip("/") + "/", quote(event_id) + ".ics")


def write_event(client: DavClient, event: OutgoingEvent, label: str) -> RemoteEvent:
    """Create or update the follow-up's event in the calendar named `label` (for messages);
    see BaseProvider.write_event."""
    url = item_url(event.calendar_id, event.event_id)
    etag = event.etag
    times = None
    for _attempt in range(WRITE_TRIES):
        condition = {"If-Match": etag} if etag else {"If-None-Match": "*"}
        response = client.request("PUT", url, event_object(event, times), {
            "Content-Type": "text/calendar; charset=utf-8", **condition})
        if response.status in (200, 201, 204):
            # Some servers change what they store, and then send no ETag with the answer.
            return RemoteEvent(event.calendar_id, event.event_id, response.header("ETag")
                               or client.request("HEAD", url).header("ETag"))
        if response.status in (404, 410) and etag:
            etag, times = "", None  # gone without a trace: write it afresh
            continue
        if response.status != 412:
            raise refused(response, label, "write to")
        # Taken (a create that succeeded before calsync noted it) or edited meanwhile.
        current = client.request("GET", url)
        if current.status in (404, 410):
            etag, times = "", None
            continue
        if current.status != 200:
            raise refused(current, label, "write to")
        if mark_of(current.body) != event.private_properties.get(FOLLOWUP_MARK):
            raise SourceError(f"An unrelated event in “{label}” already has the address "
                              "calsync chose for this follow-up, so calsync left it alone.")
        etag = current.header("ETag")
        # The user moved it there and calsync did not move it since: their time stays.
        times = None if event.times_changed else times_of(current.body)
    raise SourceError(f"“{label}” kept changing while calsync wrote a follow-up to it.",
                      "calsync will try again later.", transient=True)


def delete_event(client: DavClient, calendar_id: str, event_id: str, label: str) -> None:
    """Delete calsync's event at the follow-up's address; gone already counts as deleted."""
    url = item_url(calendar_id, event_id)
    for _attempt in range(WRITE_TRIES):
        current = client.request("GET", url)
        if current.status in (404, 410):
            return  # already gone: that is what we wanted
        if current.status != 200:
            raise refused(current, label, "delete from")
        if not mark_of(current.body):
            return  # not calsync's event: never delete a stranger's
        response = client.request("DELETE", url, headers={"If-Match": current.header("ETag")})
        if response.status in (200, 204, 404, 410):
            return
        if response.status != 412:
            raise refused(response, label, "delete from")
    raise SourceError(f"“{label}” kept changing while calsync deleted a follow-up from it.",
                      "calsync will try again later.", transient=True)
