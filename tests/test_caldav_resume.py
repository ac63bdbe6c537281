"""CalDAV shares the Google and Microsoft path for a calendar that is gone: the account
pauses when the calendar receiving follow-ups is deleted on the server, its page says so, and
choosing calendars again on that page resumes it (real Radicale and Xandikos)."""

from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient

from calsync.domain.vocabulary import SourceStatus
from tests.conftest import csrf_from
from tests.providers.caldav.conftest import caldav_server
from tests.providers.caldav.test_caldav_pages import post_account
from tests.servers.caldav_servers import CaldavServer, tomorrow_call

__all__ = ["caldav_server"]  # the CalDAV tests' fixture, for this file too


def test_choosing_calendars_resumes_an_account_whose_calendar_was_deleted(
        api: Any, logged_in: FlaskClient, caldav_server: CaldavServer) -> None:
    source_page = post_account(logged_in, caldav_server).headers["Location"]
    sid = int(source_page.rsplit("/", 1)[-1])
    personal, work = caldav_server.calendars["personal"], caldav_server.calendars["work"]
    action = f"{source_page}/caldav-calendars"
    token = csrf_from(logged_in.get(source_page).get_data(as_text=True))
    assert logged_in.post(action, data={"csrf_token": token, "calendars_read": [personal, work],
                                        "calendar_written": work}).status_code == 302

    caldav_server.delete(work)  # the calendar receiving follow-ups, deleted on the server
    logged_in.post(f"/sources/{sid}/sync", data={"csrf_token": token})
    assert api.get(f"/api/v1/sources/{sid}").get_json()["status"] == SourceStatus.DISABLED
    page = logged_in.get(source_page).get_data(as_text=True)
    assert 'id="calendars-hint"' in page and 'href="#caldav-calendars"' in page

    caldav_server.put("personal", "p1", tomorrow_call("p1", 9))
    assert logged_in.post(action, data={"csrf_token": token, "calendars_read": [personal],
                                        "calendar_written": personal}).status_code == 302
    after = api.get(f"/api/v1/sources/{sid}").get_json()
    assert after["status"] == SourceStatus.OK and after["last_error"] is None
    assert [m["title"] for m in api.get("/api/v1/meetings").get_json()["items"]] == [
        "Call p1"]
