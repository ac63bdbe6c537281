"""The Google demo: a consent screen that says it is a demo, meetings in working hours in
the person's zone (across a DST change), and two calendars to choose from."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import pytest
import requests

from calsync.emulator import GoogleEmulator, demo
from tests.emulator.conftest import CLIENT_ID, REDIRECT_URI, calendar_service, credentials

CALENDAR = "https://www.googleapis.com/auth/calendar"
# Monday 9 March 2026: New York moved to summer time the day before.
AFTER_DST = datetime(2026, 3, 9, 15, 0, tzinfo=UTC)


def consent_params(**extra: str) -> dict[str, str]:
    return {"client_id": CLIENT_ID, "redirect_uri": REDIRECT_URI, "response_type": "code",
            "scope": f"{CALENDAR} openid email", "state": "xyz",
            "login_hint": demo.DEMO_EMAIL, **extra}


def instances(google: GoogleEmulator, calendar_id: str, zone: str) -> list[tuple[datetime,
                                                                                  datetime]]:
    """Every occurrence's start and end in `zone`, as Google's API expands them."""
    service = calendar_service(google, credentials(google, google.issue_tokens(
        demo.DEMO_EMAIL, CLIENT_ID)))
    items = service.events().list(
        calendarId=calendar_id, singleEvents=True, maxResults=2500,
        timeMin="2026-01-01T00:00:00Z", timeMax="2026-12-31T00:00:00Z").execute()["items"]
    tz = ZoneInfo(zone)
    return [(datetime.fromisoformat(i["start"]["dateTime"]).astimezone(tz),
             datetime.fromisoformat(i["end"]["dateTime"]).astimezone(tz)) for i in items]


def assert_working_hours(spans: list[tuple[datetime, datetime]]) -> None:
    assert spans
    for start, end in spans:
        assert start.weekday() < 5, start
        assert time(9, 0) <= start.time() and end.time() <= time(17, 0), (start, end)
        assert start.date() == end.date()


@pytest.mark.parametrize("zone", ["America/New_York", "Europe/Berlin", "Asia/Kolkata"])
def test_demo_meetings_fall_in_working_hours_across_a_dst_change(google: GoogleEmulator,
                                                                  zone: str) -> None:
    demo.seed(google, zone=zone, now=AFTER_DST)
    work = instances(google, demo.DEMO_EMAIL, zone)
    team = instances(google, demo.TEAM_CALENDAR, zone)
    assert_working_hours(work + team)
    # Meetings on both sides of New York's change (8 March) keep their local hours.
    assert min(s for s, _ in work).date() < datetime(2026, 3, 8).date() < max(
        s for s, _ in work).date()
    reviews = [s for s, _ in team if s.weekday() == 0 and s.time() == time(9, 0)]
    assert len(reviews) == 12  # the weekly review, Mondays 9:00 local, summer and winter
    # Some have ended (calsync prompts for those), some are ahead.
    assert any(e < AFTER_DST for _, e in work) and any(s > AFTER_DST for s, _ in work)


def test_the_picker_offers_work_and_the_sales_team(google: GoogleEmulator) -> None:
    demo.seed(google, now=AFTER_DST)
    service = calendar_service(google, credentials(google, google.issue_tokens(
        demo.DEMO_EMAIL, CLIENT_ID)))
    listed = service.calendarList().list().execute()["items"]
    assert [(c["summary"], c.get("primary", False)) for c in listed] == [
        ("Work", True), ("Sales team", False)]


def test_the_consent_screen_says_it_is_a_demo(google: GoogleEmulator) -> None:
    demo.seed(google, now=AFTER_DST)
    page = requests.get(google.auth_uri, params=consent_params(), timeout=5)
    assert page.status_code == 200
    text = " ".join(page.text.split())
    assert "This is a demo." in text
    assert "no Google account is used and nothing is sent to Google" in text
    assert demo.DEMO_EMAIL in text and "Demo Seller" in text
    assert "See, edit, share and permanently delete all the calendars you can access" in text
    assert 'name="time_zone" id="time-zone" value=""' in page.text
    # Styled by files of its own: no inline style or script, which its policy forbids.
    policy = page.headers["Content-Security-Policy"]
    assert "style-src 'self'" in policy and "script-src 'self'" in policy
    assert "unsafe-inline" not in policy and " style=" not in page.text
    assert "form-action 'self' http://127.0.0.1:5000" in policy  # the redirect back
    css = requests.get(google.base_url + "/static/consent.css", timeout=5)
    assert css.headers["Content-Type"].startswith("text/css") and ".demo" in css.text
    script = requests.get(google.base_url + "/static/consent.js", timeout=5)
    assert "resolvedOptions().timeZone" in script.text


def test_consent_in_another_zone_places_the_meetings_there(google: GoogleEmulator) -> None:
    demo.seed(google, zone="Europe/Berlin")
    allowed = requests.post(google.auth_uri, timeout=5, allow_redirects=False, data={
        **consent_params(time_zone="America/Los_Angeles"), "decision": "allow"})
    assert "code" in parse_qs(urlsplit(allowed.headers["Location"]).query)
    assert_working_hours(instances(google, demo.DEMO_EMAIL, "America/Los_Angeles"))
    assert_working_hours(instances(google, demo.TEAM_CALENDAR, "America/Los_Angeles"))
    assert len(google.events(demo.DEMO_EMAIL)) == len(demo.MEETINGS)  # placed once, not twice
    # A zone that isn't one changes nothing.
    before = google.events(demo.DEMO_EMAIL)
    requests.post(google.auth_uri, timeout=5, allow_redirects=False, data={
        **consent_params(time_zone="Mars/Olympus"), "decision": "allow"})
    assert google.events(demo.DEMO_EMAIL) == before


def test_working_day_skips_weekends() -> None:
    friday = datetime(2026, 3, 6).date()
    assert demo.working_day(friday, 1) == friday + timedelta(days=3)
    assert demo.working_day(friday + timedelta(days=3), -1) == friday
    assert demo.working_day(friday, -5) == friday - timedelta(days=7)
