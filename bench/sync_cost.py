"""What a sync costs as a calendar grows and as little of it changes (invariant 5).

Serves a generated feed over loopback HTTP and times first sync, 304, same bytes, one change.
"""

from __future__ import annotations

import statistics
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select

from bench.import_cost import ics_source, timed
from calsync.config import Settings
from calsync.models import Meeting
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


def bench_size(events: int, server: FileServer, root: Path) -> dict[str, float]:
    settings = Settings.from_env({}, instance_path=root / "instance", secret_key="bench",
                                 database_url=f"sqlite:///{root / f'bench-{events}.db'}",
                                 allow_private_urls=True, window_past_days=30,
                                 window_future_days=events // 8 + 30)
    path = f"/feed-{events}.ics"
    with ics_source(settings, server.serve(path, feed(events), etag='"v1"')) as source:
        figures = {"first": timed(source.sync)}
        assert source.session.scalar(select(func.count(Meeting.id))) == events
        figures["not_modified"] = statistics.median(timed(source.sync) for _ in range(REPEATS))
        server.serve(path, feed(events))  # same bytes, no validators
        figures["same_bytes"] = statistics.median(timed(source.sync) for _ in range(REPEATS))
        changes = []
        for n in range(REPEATS):
            server.serve(path, feed(events, changed=n))
            changes.append(timed(source.sync))
        figures["one_change"] = statistics.median(changes)
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
