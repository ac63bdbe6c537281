"""The Microsoft demo follows the consent page's promise, as Google's does: the page names the
zone the meetings are in, and allowing access in the browser's zone places them again in
working hours there (once; a zone that isn't one changes nothing)."""

from __future__ import annotations

import re
from datetime import datetime, time
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import requests

from calsync.emulator.microsoft import MicrosoftEmulator
from calsync.emulator.microsoft.demo import DEMO_EMAIL, seed
from tests.servers.microsoft import CLIENT_ID, CLIENT_SECRET, REDIRECT_URI


def ask(microsoft: MicrosoftEmulator) -> dict[str, str]:
    return {"client_id": CLIENT_ID, "redirect_uri": REDIRECT_URI, "response_type": "code",
            "scope": "Calendars.ReadWrite User.Read openid offline_access", "state": "xyz",
            "login_hint": DEMO_EMAIL}


def allow(microsoft: MicrosoftEmulator, time_zone: str) -> None:
    answer = requests.post(microsoft.authority() + "/oauth2/v2.0/authorize", timeout=5,
                           verify=microsoft.ca_path, allow_redirects=False,
                           data={**ask(microsoft), "decision": "allow", "time_zone": time_zone})
    assert answer.status_code == 302, answer.text[:300]
    assert "code" in parse_qs(urlsplit(answer.headers["Location"]).query)


def starts(microsoft: MicrosoftEmulator, zone: str) -> list[datetime]:
    """Each stored meeting's start (a series' first), in `zone`."""
    tz = ZoneInfo(zone)
    return [datetime.fromisoformat(event["start"]["dateTime"] + "+00:00").astimezone(tz)
            for calendar in microsoft.calendar_ids(DEMO_EMAIL)
            for event in microsoft.events(calendar)]


def in_working_hours(moments: list[datetime]) -> bool:
    return all(m.weekday() < 5 and time(9) <= m.time() < time(17) for m in moments)


def test_consent_in_another_zone_places_the_meetings_there() -> None:
    with MicrosoftEmulator() as microsoft:
        microsoft.add_client(CLIENT_ID, CLIENT_SECRET, redirect_uris=[REDIRECT_URI])
        seed(microsoft, zone="Europe/Berlin")
        page = requests.get(microsoft.authority() + "/oauth2/v2.0/authorize",
                            params=ask(microsoft), verify=microsoft.ca_path, timeout=5).text
        assert re.search(r'<span id="zone-shown">Europe/Berlin</span>', page)
        placed = starts(microsoft, "Europe/Berlin")
        assert in_working_hours(placed)
        assert not in_working_hours(starts(microsoft, "America/Chicago"))

        allow(microsoft, "America/Chicago")
        moved = starts(microsoft, "America/Chicago")
        assert in_working_hours(moved) and len(moved) == len(placed)  # placed once, not twice

        allow(microsoft, "Mars/Olympus")
        allow(microsoft, "America/Chicago")
        assert starts(microsoft, "America/Chicago") == moved
