"""What a sync costs as a calendar grows and as little of it changes (invariant 5).

Serves a generated feed over loopback HTTP and times first sync, 304, same bytes, one change.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select

from calsync import migrate
from calsync.app import create_app
from calsync.config import Settings
from calsync.db import get_db
from calsync.jobs import sync
from calsync.models import Meeting, Source
from calsync.services import accounts, sources
from tests.servers.http_files import FileServer

SIZES = (500, 2000, 8000)
REPEATS = 3


def feed(events: int, changed: int = -1) -> bytes:
    """`events` one-hour meetings over the window; event `changed` gets a new title."""
    start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(days=20)
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//bench//EN"]
    for n in range(events):
        at = start + timedelta(hours=n * 3)
        title = f"Call {n} (moved)" if n == changed else f"Call {n}"
        lines += ["BEGIN:VEVENT", f"UID:bench-{n}@example", f"SUMMARY:{title}",
                  f"DTSTART:{at:%Y%m%dT%H%M%SZ}",
                  f"DTEND:{at + timedelta(hours=1):%Y%m%dT%H%M%SZ}",
                  f"ATTENDEE;CN=Buyer {n}:mailto:buyer{n % 50}@prospect{n % 7}.example",
                  "END:VEVENT"]
    lines.append("END:VCALENDAR")
    return ("\r\n".join(lines) + "\r\n").encode()


def timed(action: Callable[[], object]) -> float:
    began = time.perf_counter()
    action()
    return time.perf_counter() - began


def bench_size(events: int, server: FileServer, root: Path) -> dict[str, float]:
    database = root / f"bench-{events}.db"
    settings = Settings.from_env({}, instance_path=root / "instance", secret_key="bench",
                                 database_url=f"sqlite:///{database}", allow_private_urls=True,
                                 window_past_days=30, window_future_days=events // 8 + 30)
    migrate.upgrade(settings.database_url)
    app = create_app(settings)
    path = f"/feed-{events}.ics"
    with app.app_context(), get_db().session() as session:
        user = accounts.create_user(session, f"rep{events}@acme.example", None, "Europe/Berlin")
        url = server.serve(path, feed(events), etag='"v1"')
        source = sources.add_source(session, user, kind="ics", url=url, max_bytes=10**8)
        session.commit()

        def run() -> sync.SyncReport:
            session.get(Source, source.id).next_sync_at = datetime.now(UTC)
            session.commit()
            return sync.sync_source(session, settings, source.id)

        figures = {"first": timed(run)}
        assert session.scalar(select(func.count(Meeting.id))) == events
        figures["not_modified"] = statistics.median(timed(run) for _ in range(REPEATS))
        server.serve(path, feed(events))  # same bytes, no validators
        figures["same_bytes"] = statistics.median(timed(run) for _ in range(REPEATS))
        changes = []
        for n in range(REPEATS):
            server.serve(path, feed(events, changed=n))
            changes.append(timed(run))
        figures["one_change"] = statistics.median(changes)
        get_db().dispose()
    return figures


def main() -> None:
    print("sync cost: seconds, and ratio to the first full sync of the same calendar")
    print(f"{'meetings':>9} {'first':>8} {'304':>14} {'same bytes':>16} {'one change':>16}")
    with tempfile.TemporaryDirectory() as tmp, FileServer() as server:
        for size in SIZES:
            f = bench_size(size, server, Path(tmp))
            cells = [f"{f[k]:7.3f}s ({f[k] / f['first']:5.1%})"
                     for k in ("not_modified", "same_bytes", "one_change")]
            print(f"{size:>9} {f['first']:7.3f}s " + " ".join(f"{c:>16}" for c in cells))


if __name__ == "__main__":
    main()
