"""The Microsoft demo: the demo seller's two calendars, meetings on working days in working
hours in the demo's zone, the weekly review a series of twelve."""

from __future__ import annotations

from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

from calsync.emulator.microsoft import MicrosoftEmulator
from calsync.emulator.microsoft.demo import DEMO_EMAIL, seed
from tests.servers.microsoft import CLIENT_ID, graph

NOW = datetime(2026, 3, 9, 15, 0, tzinfo=UTC)
WINDOW = "startDateTime=2026-01-01T00:00:00Z&endDateTime=2026-12-31T00:00:00Z&$top=100"


def test_demo_meetings_fall_in_working_hours() -> None:
    with MicrosoftEmulator() as microsoft:
        seed(microsoft, zone="America/New_York", now=NOW)
        token = microsoft.issue_tokens(DEMO_EMAIL, CLIENT_ID)["access_token"]
        calendars = graph(microsoft, "GET", "me/calendars", token).json()["value"]
        assert [(c["name"], c["isDefaultCalendar"]) for c in calendars] == [
            ("Calendar", True), ("Sales team", False)]
        zone = ZoneInfo("America/New_York")
        items = [item for c in calendars for item in graph(
            microsoft, "GET", f"me/calendars/{c['id']}/calendarView?{WINDOW}", token,
            headers={"Prefer": 'outlook.timezone="Eastern Standard Time"'}).json()["value"]]
        assert len(items) == 7 + 2 + 12
        for item in items:
            start = datetime.fromisoformat(item["start"]["dateTime"]).replace(tzinfo=zone)
            end = datetime.fromisoformat(item["end"]["dateTime"]).replace(tzinfo=zone)
            assert item["start"]["timeZone"] == "Eastern Standard Time"
            assert start.weekday() < 5 and time(9) <= start.time() and end.time() <= time(17)
        reviews = [i for i in items if i["type"] == "occurrence"]
        assert len(reviews) == 12 and {i["start"]["dateTime"][11:16] for i in reviews} == {
            "09:00"}
