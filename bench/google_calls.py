"""What a Google calendar of 10,000 events costs in calls: calsync's first sync and an idle
incremental sync against the Google emulator, counted from the emulator's request log.

    python -m bench.google_calls
"""

from __future__ import annotations

import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from calsync import crypto, migrate
from calsync.app import create_app
from calsync.config import Settings
from calsync.db import get_db
from calsync.emulator import GoogleEmulator
from calsync.jobs import sync
from calsync.models import Source
from calsync.providers.google import PAGE_SIZE
from calsync.services import accounts

EVENTS = 10_000
EMAIL = "ana@acme-sales.example"
CLIENT_ID, CLIENT_SECRET = "calsync-bench.apps.googleusercontent.example", "bench-secret"
# Issue 12: a first sync of 10,000 events costs 4 list calls, an idle one 1.
TARGETS = {"first sync": -(-EVENTS // PAGE_SIZE), "idle incremental sync": 1}


def load(emulator: GoogleEmulator, now: datetime) -> None:
    """EVENTS half-hour meetings with a prospect, every 15 minutes from 10 days ago."""
    start = now - timedelta(days=10)
    for n in range(EVENTS):
        at = start + timedelta(minutes=15 * n)
        emulator.add_event(EMAIL, {
            "summary": f"Call {n} with Prospect {n % 300}",
            "start": {"dateTime": at.isoformat()},
            "end": {"dateTime": (at + timedelta(minutes=30)).isoformat()},
            "attendees": [{"email": EMAIL, "self": True, "responseStatus": "accepted"},
                          {"email": f"buyer{n % 50}@prospect{n % 300}.example",
                           "responseStatus": "accepted"}]})


def list_calls(emulator: GoogleEmulator) -> int:
    return sum(1 for r in emulator.requests if r.method == "GET" and r.path.endswith("/events"))


def main() -> None:
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    with tempfile.TemporaryDirectory() as folder, GoogleEmulator(auto_consent=True) as emulator:
        emulator.add_client(CLIENT_ID, CLIENT_SECRET)
        emulator.add_account(EMAIL, time_zone="Europe/Berlin")
        load(emulator, now)
        root = Path(folder)
        settings = Settings.from_env(
            {}, instance_path=root / "instance", secret_key="bench",
            database_url=f"sqlite:///{root / 'calsync.db'}", window_past_days=30,
            window_future_days=120, google_api_endpoint=emulator.api_endpoint,
            google_token_uri=emulator.token_uri, google_auth_uri=emulator.auth_uri,
            google_revoke_uri=emulator.revoke_uri, google_client_id=CLIENT_ID,
            google_client_secret=CLIENT_SECRET)
        migrate.upgrade(settings.database_url)
        app = create_app(settings)
        tokens = emulator.issue_tokens(EMAIL, CLIENT_ID)
        credentials = {"token": tokens["access_token"], "refresh_token": tokens["refresh_token"],
                       "expiry": (now + timedelta(seconds=tokens["expires_in"])).isoformat(),
                       "scopes": tokens["scope"].split()}
        with app.app_context(), get_db().session() as session:
            user = accounts.create_user(session, EMAIL, "bench-password-1234", "Europe/Berlin")
            source = Source(user_id=user.id, kind="google", name="Google Calendar", url="",
                            options={"account": EMAIL, "calendars_read": [EMAIL],
                                     "calendar_written": EMAIL,
                                     "calendar_names": {EMAIL: "Ana's calendar"}},
                            credentials=crypto.seal(settings, credentials), cursor={},
                            warnings=[], next_sync_at=now)
            session.add(source)
            session.commit()
            print(f"\nGoogle calls: {EVENTS:,} events, page size {PAGE_SIZE}")
            print("| sync | events.list calls | target | result | seconds |")
            print("|---|---:|---:|---|---:|")
            for name, target in TARGETS.items():
                before, began = list_calls(emulator), time.perf_counter()
                report = sync.sync_source(session, settings, source.id)
                calls = list_calls(emulator) - before
                mark = "" if calls <= target else " — MISSED"
                print(f"| {name} | {calls}{mark} | {target} | {report.result}, "
                      f"{report.added:,} added | {time.perf_counter() - began:.1f} |")


if __name__ == "__main__":
    main()
