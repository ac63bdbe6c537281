"""Hostile calendars and servers (issue 7) through the worker's own sync job, one child each.

Peak memory and time to a clear status, on this tree or an old checkout (`--tree`).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench import hostile_inputs as inputs

RESULTS = Path(__file__).resolve().parent / "results"
MEMORY_MB = 4096
TIMEOUT_S = 120.0
TARGET_S, TARGET_MB = 10.0, 300.0
OWN_DOMAIN = "acme.example"


# ---- the child: a temporary instance, users, sources, and the worker's sync job ------------

class Instance:
    """A temporary calsync instance on SQLite, driven as its worker drives it."""

    def __init__(self, root: Path) -> None:
        from calsync import migrate
        from calsync.app import create_app
        from calsync.config import Settings

        self.database = root / "calsync.db"
        self.settings = Settings.from_env(
            {}, instance_path=root / "instance", secret_key="bench", allow_private_urls=True,
            database_url=f"sqlite:///{self.database}")
        migrate.upgrade(self.settings.database_url)
        self.app = create_app(self.settings)
        self.seconds = self.cpu_seconds = 0.0

    def source(self, email: str, *, upload: bytes | None = None, url: str = "") -> int:
        from calsync.db import get_db
        from calsync.services import accounts, sources

        with self.app.app_context(), get_db().session() as session:
            user = accounts.create_user(session, email, None, "Europe/Berlin")
            source = sources.add_source(session, user, kind="ics", url=url, upload=upload,
                                        max_bytes=self.settings.fetch_max_bytes)
            session.commit()
            return source.id

    def sync(self, source_id: int) -> None:
        """The Huey job `sync_source` a worker runs, called in this process, timed."""
        job = self.app.extensions["calsync.queue"].jobs["sync_source"]
        began, cpu = time.perf_counter(), time.process_time()
        done = threading.Event()
        threading.Thread(target=_report_cpu, args=(cpu - self.cpu_seconds, done),
                         daemon=True).start()
        try:
            job.call_local(source_id)
        finally:
            done.set()
        self.seconds += time.perf_counter() - began
        # CPU time too: the machine may be shared, and wall time then says more about it.
        self.cpu_seconds += time.process_time() - cpu

    def figures(self, source_ids: list[int]) -> dict[str, Any]:
        from sqlalchemy import func, select

        from calsync.db import get_db
        from calsync.models import Meeting, Prompt, Source

        with self.app.app_context(), get_db().session() as session:
            sources = [session.get(Source, n) for n in source_ids]
            figures = {
                "seconds": self.seconds,
                "cpu_seconds": self.cpu_seconds,
                "meetings": session.scalar(select(func.count(Meeting.id))),
                "prompts": session.scalar(select(func.count(Prompt.id))),
                "status": "; ".join(_status(s) for s in sources if s is not None),
            }
        with self.app.app_context():
            get_db().dispose()
        figures["db_mb"] = sum(p.stat().st_size for p in self.database.parent.glob(
            self.database.name + "*")) / 2**20
        return figures

    def starts(self) -> dict[str, datetime]:
        """Each user's meeting start (UTC), by email."""
        from sqlalchemy import select

        from calsync.db import get_db
        from calsync.models import Meeting, User

        with self.app.app_context(), get_db().session() as session:
            rows = session.execute(select(User.email, Meeting.start).join(
                Meeting, Meeting.user_id == User.id))
            return {email: start for email, start in rows}


def _report_cpu(since: float, done: threading.Event) -> None:
    """Print the CPU spent syncing so far every second: a child killed at its timeout
    still tells how much work it had done (its last line)."""
    while not done.wait(1.0):
        print(json.dumps({"cpu_seconds": time.process_time() - since}), flush=True)


def _status(source: Any) -> str:
    said = source.last_error or "; ".join(source.warnings or []) or "no warning"
    return f"{source.status}: {' '.join(said.split())}"


def _one_upload(body: Callable[[], bytes]) -> Callable[[Instance], dict[str, Any]]:
    def run(instance: Instance) -> dict[str, Any]:
        source = instance.source(f"rep@{OWN_DOMAIN}", upload=body())
        instance.sync(source)
        return instance.figures([source])

    return run


def _slow_headers(instance: Instance) -> dict[str, Any]:
    with inputs.header_dribbler() as url:
        source = instance.source(f"rep@{OWN_DOMAIN}", url=url)
        instance.sync(source)
        return instance.figures([source])


def _two_custom_zones(instance: Instance) -> dict[str, Any]:
    """UTC-11 first, then UTC+2, in one process: both 10:00 meetings must land right."""
    wanted = {}
    ids = []
    for email, offset, hours in ((f"west@{OWN_DOMAIN}", "-1100", 11),
                                 (f"east@{OWN_DOMAIN}", "+0200", -2)):
        ids.append(instance.source(email, upload=inputs.custom_zone(offset)))
        instance.sync(ids[-1])
        wanted[email] = inputs.soon().replace(tzinfo=UTC) + timedelta(hours=hours)
    starts = instance.starts()
    wrong = [f"{email.split('@')[0]} at {starts.get(email)} not {at:%H:%M}Z"
             for email, at in wanted.items() if starts.get(email) != at]
    return {**instance.figures(ids), "correct": "no: " + ", ".join(wrong) if wrong else "yes"}


@dataclass(frozen=True)
class Case:
    key: str
    title: str
    run: Callable[[Instance], dict[str, Any]]


CASES = [
    Case("control", "0. control: one ordinary meeting",
         _one_upload(inputs.plain)),
    Case("hourly", "1. zone RRULE:FREQ=HOURLY from 1601",
         _one_upload(lambda: inputs.zone_rule("HOURLY"))),
    Case("secondly", "2. zone RRULE:FREQ=SECONDLY from 1601",
         _one_upload(lambda: inputs.zone_rule("SECONDLY"))),
    Case("observances", "3. one zone, 5,000 sub-components", _one_upload(inputs.many_observances)),
    Case("zones", "4. 1,000 VTIMEZONEs, each used", _one_upload(inputs.many_zones)),
    Case("attendees", "5. 69 KB event, 1,000 attendees, minutely",
         _one_upload(inputs.attendee_storm)),
    Case("flood", "6. 31 KB feed, 200 minutely series", _one_upload(inputs.minutely_flood)),
    Case("slow_headers", "7. headers one byte per 0.5 s", _slow_headers),
    Case("custom_tzid", "8. same custom TZID, two users", _two_custom_zones),
]


def child(key: str, tree: str = "") -> None:
    """Entry point of the bounded child: run case `key` on `tree` (default: this checkout)."""
    if tree:
        sys.path.insert(0, str(Path(tree).resolve()))
    import calsync

    case = next(c for c in CASES if c.key == key)
    with tempfile.TemporaryDirectory(prefix="calsync-hostile-") as root:
        result = case.run(Instance(Path(root)))
    result["tree"] = str(Path(calsync.__file__).resolve().parent.parent)
    print(json.dumps(result, default=str))


# ---- the parent: one bounded child per case, tables, the saved baseline --------------------

def measure(case: Case, tree: str, memory_mb: int, timeout: float) -> dict[str, Any]:
    """Run `case` in a capped child; what it cost, or how it was stopped."""
    from tests.bounded import run_bounded

    run = run_bounded("bench.hostile:child", case.key, tree, memory_mb=memory_mb,
                      timeout=timeout)
    row: dict[str, Any] = {"case": case.title, "peak_mb": run.peak_rss_mb,
                           "load": os.getloadavg()[0], "at": f"{datetime.now(UTC):%H:%M}"}
    if run.returncode is None:
        with contextlib.suppress(ValueError, IndexError):
            row["cpu_seconds"] = dict(run.result)["cpu_seconds"]  # type: ignore[call-overload]
        return {**row, "seconds": None, "status": f"no status: killed at {timeout:.0f} s"}
    try:
        result = dict(run.result)  # type: ignore[call-overload]
    except (ValueError, IndexError):
        last = (run.stderr.strip().splitlines() or ["no output"])[-1]
        return {**row, "seconds": None, "status": f"worker crashed after {run.seconds:.0f} s: "
                f"{last}"}
    if "MemoryError" in run.stderr:
        result["status"] = f"hit the {memory_mb} MB cap (MemoryError); {result['status']}"
    return {**row, **result}


def table(rows: list[dict[str, Any]], timeout: float) -> str:
    lines = ["| case | time to a clear status | worker peak RSS | meetings | prompts | DB "
             "| source status: message (80 chars) | load | UTC |",
             "|---|---:|---:|---:|---:|---:|---|---:|---:|"]
    for row in rows:
        lines.append(f"| {row['case']} | {_seconds(row, timeout)} | {row['peak_mb']:.0f} MB "
                     f"| {row.get('meetings', '-')} | {row.get('prompts', '-')} "
                     f"| {_db(row)} | {_said(row)} | {row.get('load', 0):.1f} "
                     f"| {row.get('at', '')} |")
    return "\n".join(lines)


def compare(before: list[dict[str, Any]], after: list[dict[str, Any]], timeout: float) -> str:
    """Both runs side by side; after as a share of before; whether the target is met."""
    earlier = {row["case"]: row for row in before}
    lines = [f"| case | before | after | after/before | before RSS | after RSS | after/before "
             f"| under {TARGET_S:.0f} s and {TARGET_MB:.0f} MB | after: source status |",
             "|---|---:|---:|---:|---:|---:|---:|:-:|---|"]
    for row in after:
        met = (row["seconds"] is not None and row["seconds"] < TARGET_S
               and row["peak_mb"] < TARGET_MB and row.get("correct", "yes") == "yes")
        old = earlier.get(row["case"])
        was = (f"{_seconds(old, timeout)} | {_seconds(row, timeout)} "
               f"| {_time_share(old, row, timeout)} | {old['peak_mb']:.0f} MB "
               f"| {row['peak_mb']:.0f} MB | {row['peak_mb'] / old['peak_mb']:.0%}"
               if old else f"- | {_seconds(row, timeout)} | - | - | {row['peak_mb']:.0f} MB | -")
        lines.append(f"| {row['case']} | {was} | {'yes' if met else 'no'} | {_said(row)} |")
    return "\n".join(lines)


def _time_share(before: dict[str, Any], after: dict[str, Any], timeout: float) -> str:
    """After's wall time as a share of before's; a run killed at the timeout bounds it."""
    old, new = before.get("seconds"), after.get("seconds")
    if old is not None and new is not None:
        return f"{new / old:.1%}"
    if new is not None and old is None:  # before was killed
        return f"< {new / timeout:.1%}"
    return f"> {timeout / old:.0%}" if old and new is None else "-"


def _said(row: dict[str, Any]) -> str:
    """The source's status and message (80 characters), and for case 8 whether it is right."""
    right = f" — both right: {row['correct']}" if "correct" in row else ""
    return row["status"][:80] + right


def _seconds(row: dict[str, Any], timeout: float) -> str:
    cpu = f" (CPU {row['cpu_seconds']:.1f} s)" if "cpu_seconds" in row else ""
    if row.get("seconds") is None:
        return f"> {timeout:.0f} s{cpu.replace('CPU ', 'CPU > ')}"
    return f"{row['seconds']:.1f} s{cpu}"


def _db(row: dict[str, Any]) -> str:
    return f"{row['db_mb']:.1f} MB" if "db_mb" in row else "-"


def save(name: str, rows: list[dict[str, Any]], header: str, timeout: float) -> Path:
    """Write the run as markdown and JSON; cases not measured this time keep their rows."""
    RESULTS.mkdir(exist_ok=True)
    data = RESULTS / f"hostile-{name}.json"
    kept = {row["case"]: row for row in json.loads(data.read_text())} if data.exists() else {}
    kept.update((row["case"], row) for row in rows)
    rows = [kept[c.title] for c in CASES if c.title in kept]
    data.write_text(json.dumps(rows, indent=1, default=str))
    path = RESULTS / f"hostile-{name}.md"
    path.write_text(f"{header}\n\n{table(rows, timeout)}\n")
    return path


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.hostile", description=__doc__)
    parser.add_argument("--tree", default="", help="a checkout to measure (git worktree "
                        "add /tmp/before af5aabb); default: this one")
    parser.add_argument("--save", default="", help="write bench/results/hostile-NAME.md/json")
    parser.add_argument("--baseline", default="before",
                        help="saved run to compare with (default: before)")
    parser.add_argument("--cases", default="", help="comma-separated keys: "
                        + ",".join(c.key for c in CASES))
    parser.add_argument("--memory-mb", type=int, default=MEMORY_MB)
    parser.add_argument("--timeout", type=float, default=TIMEOUT_S)
    args = parser.parse_args(argv)
    chosen = [c for c in CASES if not args.cases or c.key in args.cases.split(",")]
    header = (f"Hostile cases on {args.tree or 'this tree'}, "
              f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC: each in its own worker process "
              f"(SQLite, defaults), capped at {args.memory_mb} MB and {args.timeout:.0f} s; "
              "time: the sync job's wall time (CPU); peak RSS: the worker process's, imports "
              "included (see case 0); load: the machine's 1-minute load average (2 cores) as "
              "the case ended.")
    print(header, flush=True)
    rows = []
    for case in chosen:  # one at a time: a case may take gigabytes
        rows.append(measure(case, args.tree, args.memory_mb, args.timeout))
        print(f"  {case.title}: {_seconds(rows[-1], args.timeout)}, "
              f"{rows[-1]['peak_mb']:.0f} MB, {rows[-1]['status'][:80]}", flush=True)
    print(table(rows, args.timeout))
    saved = save(args.save, rows, header, args.timeout) if args.save else None
    baseline = RESULTS / f"hostile-{args.baseline}.json"
    if baseline.exists() and args.save != args.baseline:
        side_by_side = (f"Against {baseline.name} (after as a share of before):\n\n"
                        + compare(json.loads(baseline.read_text()), rows, args.timeout))
        print("\n" + side_by_side)
        if saved:
            saved.write_text(saved.read_text() + "\n" + side_by_side + "\n")
    if saved:
        print(f"saved {saved}")


if __name__ == "__main__":
    main()
