"""The ICS provider end to end over a loopback server: cursors, 304s, uploads, charsets."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from calsync import providers
from calsync.config import Settings
from calsync.errors import SourceError, UnsupportedOperation
from calsync.providers.base import ReadContext, SourceRef
from calsync.providers.ics import IcsProvider

LAST_MODIFIED = "Mon, 03 Mar 2025 10:00:00 GMT"


def test_registered_as_a_read_only_provider(make_settings):
    assert providers.load("ics") is IcsProvider
    provider = IcsProvider(make_settings())
    assert provider.describe() == {"name": "ics", "read_only": True, "supports_push": False,
                                   "supports_write": False}
    with pytest.raises(UnsupportedOperation):
        provider.write_event(SourceRef(1, url="http://x"), {})


def test_reads_a_feed_and_returns_a_complete_changeset(http_files, make_settings, ics, context):
    url = http_files.serve("/team.ics", ics("ics_weekly_series"), etag='"abc"')
    changes = IcsProvider(make_settings()).read(SourceRef(1, url=url), {}, context)
    assert changes.complete and not changes.unchanged
    assert len(changes.meetings) == 7
    assert changes.cursor["etag"] == '"abc"'
    assert len(changes.cursor["sha256"]) == 64


def test_a_304_via_etag_is_unchanged_and_keeps_the_cursor(http_files, make_settings, ics,
                                                           context):
    url = http_files.serve("/team.ics", ics("ics_weekly_series"), etag='"abc"')
    provider = IcsProvider(make_settings())
    first = provider.read(SourceRef(1, url=url), {}, context)
    second = provider.read(SourceRef(1, url=url), first.cursor, context)
    assert second.unchanged and second.meetings == [] and second.cursor == first.cursor
    assert http_files.requests[1].headers["If-None-Match"] == '"abc"'


def test_a_304_via_last_modified(http_files, make_settings, ics, context):
    url = http_files.serve("/team.ics", ics("ics_weekly_series"), last_modified=LAST_MODIFIED)
    provider = IcsProvider(make_settings())
    first = provider.read(SourceRef(1, url=url), {}, context)
    assert first.cursor["last_modified"] == LAST_MODIFIED
    second = provider.read(SourceRef(1, url=url), first.cursor, context)
    assert second.unchanged
    assert http_files.requests[1].headers["If-Modified-Since"] == LAST_MODIFIED


def test_the_same_bytes_without_validators_are_unchanged(http_files, make_settings, ics,
                                                         context):
    url = http_files.serve("/team.ics", ics("ics_weekly_series"))
    provider = IcsProvider(make_settings())
    first = provider.read(SourceRef(1, url=url), {}, context)
    second = provider.read(SourceRef(1, url=url), first.cursor, context)
    assert second.unchanged and len(http_files.requests) == 2
    http_files.serve("/team.ics", ics("ics_dst_berlin"))
    third = provider.read(SourceRef(1, url=url), second.cursor, context)
    assert not third.unchanged and {m.title for m in third.meetings} == {"Stand-up"}


def test_a_new_window_reads_the_feed_again(http_files, make_settings, ics, context):
    # The window slides each day, so yesterday's 304 or hash must not hide new occurrences.
    url = http_files.serve("/team.ics", ics("ics_weekly_series"), etag='"abc"')
    provider = IcsProvider(make_settings())
    first = provider.read(SourceRef(1, url=url), {}, context)
    later = ReadContext(context.window_start + timedelta(days=1),
                        context.window_end + timedelta(days=1), context.timezone)
    second = provider.read(SourceRef(1, url=url), first.cursor, later)
    assert not second.unchanged and second.meetings
    assert "If-None-Match" not in http_files.requests[1].headers


def test_an_uploaded_file_is_read_without_a_url(make_settings, ics, context):
    provider = IcsProvider(make_settings(allow_private_urls=False))
    changes = provider.read(SourceRef(2, data=ics("ics_google_export")), {}, context)
    assert len(changes.meetings) == 5 and changes.cursor["sha256"]
    again = provider.read(SourceRef(2, data=ics("ics_google_export")), changes.cursor, context)
    assert again.unchanged


def test_a_latin1_feed_declared_in_content_type(http_files, make_settings, ics, context):
    url = http_files.serve("/latin.ics", ics("ics_latin1"),
                           content_type="text/calendar; charset=ISO-8859-1")
    changes = IcsProvider(make_settings()).read(SourceRef(1, url=url), {}, context)
    assert [m.title for m in changes.meetings] == ["Café mit Frau Müller"]
    assert changes.meetings[0].location == "Straße 5, Zürich"
    assert changes.warnings == []


def test_an_undeclared_latin1_feed_is_read_leniently_with_a_warning(http_files, make_settings,
                                                                     ics, context):
    url = http_files.serve("/latin.ics", ics("ics_latin1"), content_type="text/calendar")
    changes = IcsProvider(make_settings()).read(SourceRef(1, url=url), {}, context)
    assert [m.title for m in changes.meetings] == ["Café mit Frau Müller"]
    assert any("Windows-1252" in w for w in changes.warnings)


def test_warnings_of_a_partly_broken_feed_reach_the_changeset(http_files, make_settings, ics,
                                                              context):
    url = http_files.serve("/broken.ics", ics("ics_one_broken_event"))
    changes = IcsProvider(make_settings()).read(SourceRef(1, url=url), {}, context)
    assert len(changes.meetings) == 2 and len(changes.warnings) == 3


def test_hostile_feed_is_bounded_by_the_settings(http_files, make_settings, ics, context):
    url = http_files.serve("/hostile.ics", ics("ics_hostile_secondly"))
    settings = make_settings(max_occurrences_per_series=10, max_meetings_per_source=15)
    changes = IcsProvider(settings).read(SourceRef(1, url=url), {}, context)
    assert len(changes.meetings) == 15
    assert any("more meetings than calsync reads" in w for w in changes.warnings)


def test_a_web_page_instead_of_a_calendar_is_a_clear_error(http_files, make_settings, context):
    url = http_files.serve("/login", "<!DOCTYPE html><html>Sign in</html>",
                           content_type="text/html")
    with pytest.raises(SourceError) as caught:
        IcsProvider(make_settings()).read(SourceRef(1, url=url), {}, context)
    assert "This is a web page, not a calendar" in caught.value.message
    assert "iCal (ICS) address" in caught.value.hint


def test_fetch_errors_pass_through_with_their_flags(http_files, make_settings, context):
    url = http_files.serve("/gone.ics", b"", status=410)
    with pytest.raises(SourceError) as caught:
        IcsProvider(make_settings()).read(SourceRef(1, url=url), {}, context)
    assert not caught.value.transient and "410" in caught.value.message


def test_a_private_url_is_refused_by_default(http_files, tmp_path, context):
    url = http_files.serve("/team.ics", b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n")
    provider = IcsProvider(Settings.from_env({}, instance_path=tmp_path))
    with pytest.raises(SourceError) as caught:
        provider.read(SourceRef(1, url=url), {}, context)
    assert "private or local networks" in caught.value.message
    assert http_files.requests == []


def test_user_timezone_matters_only_for_floating_times(make_settings, ics):
    provider = IcsProvider(make_settings())
    window = (datetime(2025, 3, 1, tzinfo=UTC), datetime(2025, 5, 1, tzinfo=UTC))
    tokyo = provider.read(SourceRef(3, data=ics("ics_floating")), {},
                          ReadContext(*window, ZoneInfo("Asia/Tokyo")))
    lunch = next(m for m in tokyo.meetings if m.title == "Lunch with Stark")
    assert lunch.start == datetime(2025, 3, 12, 3, tzinfo=UTC)
