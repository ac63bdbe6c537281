"""The feed of 1,000 follow-ups served by calsync (gunicorn, as `calsync run` starts it) against
Radicale serving the same VEVENTs as one .ics, both on loopback, measured with wrk.

    python -m bench.feed_serving        (needs Debian's wrk: `make wrk`)
    python -m bench.feed_serving --no-radicale --connections 1    (calsync and the floors only)
"""

from __future__ import annotations

import argparse
import base64
import math
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from calsync import migrate
from calsync.app import create_app
from calsync.config import Settings
from calsync.db import get_db
from calsync.domain.vocabulary import Channel, FollowUpKind
from calsync.feed.cache import current_feed
from calsync.models import Deal, FollowUp, User
from calsync.services import accounts

FOLLOWUPS = 1_000
DEALS = 50
CONNECTIONS = (1, 8)
DURATION = "5s"
# Issue 12's targets: against Radicale's requests/s at the same connections, and absolute.
FULL_RATIO, FULL_P99_MS = 10.0, 20.0
CONDITIONAL_RATIO, CONDITIONAL_RPS = 50.0, 2_000.0
PASSWORD = "bench-password-1234"


@dataclass(frozen=True)
class Run:
    """One wrk run: throughput and tail latency."""

    requests_per_second: float
    p99_ms: float


def populate(settings: Settings) -> tuple[str, bytes, str]:
    """One user with FOLLOWUPS follow-ups over DEALS deals (a few cancelled lately, some
    promises); returns the feed token, the feed's bytes, and their ETag."""
    migrate.upgrade(settings.database_url)
    app = create_app(settings)
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    channels, kinds = list(Channel), [FollowUpKind.FOLLOW_UP, FollowUpKind.PROMISE]
    with app.app_context(), get_db().session() as session:
        user = accounts.create_user(session, "bench@acme-sales.example", PASSWORD,
                                    "Europe/Berlin")
        deals = [Deal(user_id=user.id, name=f"Prospect {n} GmbH",
                      key=f"domain:prospect{n}.example") for n in range(DEALS)]
        session.add_all(deals)
        session.flush()
        for n in range(FOLLOWUPS):
            start = now + timedelta(hours=5 * n - 2_000)
            followup = FollowUp(
                user_id=user.id, deal_id=deals[n % DEALS].id, uid=f"bench-{n}@calsync",
                summary=f"Send the revised proposal, part {n}", start=start,
                end=start + timedelta(minutes=30), channel=channels[n % len(channels)],
                note=f"Ask about the budget for next quarter; mention case study {n % 9}.",
                kind=kinds[n % 2], value_note="Pricing for 40 seats" if n % 2 else "",
                sequence=0)
            if n % 2:
                followup.promise_due = start + timedelta(days=2)
            if n % 40 == 0:
                followup.cancel(now - timedelta(days=n % 25))
            session.add(followup)
        session.commit()
        owner = session.get(User, user.id)
        assert owner is not None
        state = current_feed(session, settings, owner)
        return owner.feed_token, state.body, state.etag


@contextmanager
def calsync_web(root: Path, database_url: str, port: int) -> Iterator[str]:
    """calsync's web process under gunicorn with the settings `calsync run` uses."""
    base = f"http://127.0.0.1:{port}"
    with _gunicorn("calsync.wsgi:app", root, port, {
            "DATABASE_URL": database_url, "SECRET_KEY": "bench",
            "CALSYNC_INSTANCE_PATH": str(root / "instance"), "BASE_URL": base,
            # The throttle stays on the route (its cost is measured); its limit is lifted.
            "CALSYNC_RATE_LIMIT_FEED": "1000000/second", "LOG_LEVEL": "WARNING"}, "/readyz"):
        yield base


def floor_app(environ: dict[str, object], start_response: Callable[..., object]) -> list[bytes]:
    """The least a WSGI app can answer: what gunicorn's own work costs per request."""
    start_response("304 NOT MODIFIED", [("ETag", '"floor"')])
    return [b""]


@contextmanager
def bare_web(root: Path, port: int) -> Iterator[str]:
    """floor_app under the same gunicorn workers and settings as calsync_web."""
    base = f"http://127.0.0.1:{port}"
    with _gunicorn("bench.feed_serving:floor_app", root, port, {}, "/"):
        yield base


@contextmanager
def _gunicorn(app: str, root: Path, port: int, env: dict[str, str],
              ready: str) -> Iterator[None]:
    """gunicorn serving `app` as `calsync run` starts it, until `ready` answers."""
    workers = str(max(2, os.cpu_count() or 1))
    command = [str(Path(sys.executable).parent / "gunicorn"), "-c", "python:calsync.gunicorn_conf",
               "--workers", workers, "--bind", f"127.0.0.1:{port}", app]
    log_path = root / f"gunicorn-{port}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, env={**os.environ, **env}, stdout=log,
                                   stderr=subprocess.STDOUT)
        try:
            _wait(f"http://127.0.0.1:{port}{ready}", process, log_path)
            yield
        finally:
            process.terminate()
            process.wait(timeout=30)


@contextmanager
def radicale(root: Path, port: int) -> Iterator[tuple[str, dict[str, str]]]:
    """Radicale from PyPI with its own server (as its users run it): the URL of a calendar
    collection holding nothing yet, and the login header it wants."""
    (root / "radicale.conf").write_text(
        f"[server]\nhosts = 127.0.0.1:{port}\n[auth]\ntype = none\n"
        f"[storage]\nfilesystem_folder = {root / 'collections'}\n"
        "[rights]\ntype = owner_only\n[logging]\nlevel = warning\n[web]\ntype = none\n")
    command = [sys.executable, "-m", "radicale", "--config", str(root / "radicale.conf")]
    log = (root / "radicale.log").open("wb")
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    # Any password: auth type none takes the login as the user, who owns /bench/.
    headers = {"Authorization": "Basic " + base64.b64encode(b"bench:bench").decode()}
    base = f"http://127.0.0.1:{port}"
    try:
        _wait(f"{base}/.well-known/caldav", process, root / "radicale.log")
        # Radicale makes the user's principal collection at their first request.
        principal = urllib.request.Request(f"{base}/bench/", method="PROPFIND",
                                           headers={**headers, "Depth": "0"})
        urllib.request.urlopen(principal, timeout=30).close()
        yield f"{base}/bench/calendar/", headers
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    """Until `url` answers (any HTTP status): the server is up."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{process.args!r} exited: {log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"nothing answered at {url} within 60 s")


def wrk(url: str, connections: int, headers: dict[str, str]) -> Run:
    """wrk against `url`; every answer must be a 2xx or 3xx (a 429 would mean the throttle)."""
    threads = min(connections, os.cpu_count() or 1)
    # A 30 s timeout: a slow answer counts in the latencies rather than as an error.
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{DURATION}", "--timeout", "30s",
               "--latency"]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    out = subprocess.run([*command, url], capture_output=True, text=True,
                         check=True).stdout
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)|Socket errors:.*", out)
    if bad:
        raise SystemExit(f"wrk saw failures against {url}:\n{out}")
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    p99 = re.search(r"^\s*99%\s+([\d.]+)(us|ms|s)\s*$", out, re.MULTILINE)
    assert rps and p99, out
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[p99[2]]
    return Run(float(rps[1]), float(p99[1]) * scale)


def _status(url: str, headers: dict[str, str]) -> tuple[int, bytes]:
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, b""


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-radicale", action="store_true",
                        help="skip Radicale (storing the calendar takes about a minute); "
                             "no ratios then")
    parser.add_argument("--connections", type=int, nargs="+", default=list(CONNECTIONS),
                        help="wrk's connections, one run each (default: %(default)s)")
    args = parser.parse_args(argv)
    if shutil.which("wrk") is None:
        raise SystemExit("bench.feed_serving needs wrk: make wrk (Debian's package)")
    with tempfile.TemporaryDirectory() as folder, ExitStack() as servers:
        root = Path(folder)
        port = free_port()
        database_url = f"sqlite:///{root / 'calsync.db'}"
        settings = Settings.from_env({}, instance_path=root / "instance", secret_key="bench",
                                     database_url=database_url,
                                     base_url=f"http://127.0.0.1:{port}")
        token, body, etag = populate(settings)
        base = servers.enter_context(calsync_web(root, database_url, port))
        floor = servers.enter_context(bare_web(root, free_port()))
        feed = f"{base}/feed/{token}.ics"
        assert _status(feed, {}) == (200, body)
        assert _status(feed, {"If-None-Match": etag})[0] == 304
        targets = {
            "calsync full": (feed, {}),
            "calsync full, gzip": (feed, {"Accept-Encoding": "gzip"}),
            "calsync conditional (If-None-Match)": (feed, {"If-None-Match": etag}),
        }
        if not args.no_radicale:
            (root / "radicale").mkdir()
            calendar, radicale_headers = servers.enter_context(
                radicale(root / "radicale", free_port()))
            _store(calendar, radicale_headers, body)
            targets["Radicale full"] = (calendar, radicale_headers)
        # What any request costs through gunicorn and Flask here, and through gunicorn
        # alone: the floors under the feed's figures.
        targets["calsync /healthz (Flask floor)"] = (f"{base}/healthz", {})
        targets["gunicorn, bare WSGI app (floor)"] = (floor, {})
        report(body, targets, args.connections)


def _store(calendar: str, headers: dict[str, str], body: bytes) -> None:
    """The calendar put in Radicale, and served back with the same VEVENTs."""
    # One PUT of the whole calendar makes the collection, one item per VEVENT.
    upload = urllib.request.Request(calendar, data=body, method="PUT", headers={
        **headers, "Content-Type": "text/calendar; charset=utf-8"})
    began = time.perf_counter()
    with urllib.request.urlopen(upload, timeout=600) as response:
        assert response.status in (200, 201), response.status
    print(f"Radicale stored the calendar in {time.perf_counter() - began:.1f} s")
    served = _status(calendar, headers)[1]
    assert served.count(b"BEGIN:VEVENT") == body.count(b"BEGIN:VEVENT"), "not the same"


def report(body: bytes, targets: dict[str, tuple[str, dict[str, str]]],
           connections: list[int]) -> None:
    load_before = os.getloadavg()[0]
    runs = {(name, c): wrk(url, c, headers)
            for c in connections for name, (url, headers) in targets.items()}
    # Other work on the machine moves every figure; the load says how much there was.
    print(f"\nFeed serving: {FOLLOWUPS} follow-ups ({len(body):,} bytes, "
          f"{body.count(b'BEGIN:VEVENT')} VEVENTs), wrk -d{DURATION} on loopback, "
          f"{os.cpu_count()} CPUs, load average {load_before:.1f} before and "
          f"{os.getloadavg()[0]:.1f} after")
    print("| what | connections | requests/s | p99 ms | x Radicale | target |")
    print("|---|---:|---:|---:|---:|---|")
    for (name, c), run in runs.items():
        radicale_run = runs.get(("Radicale full", c))
        # Without Radicale (--no-radicale) only the absolute targets are judged.
        ratio = (run.requests_per_second / radicale_run.requests_per_second
                 if radicale_run else math.inf)
        if name.startswith("calsync full"):
            goal = f"≥ {FULL_RATIO:g}x, p99 < {FULL_P99_MS:g} ms"
            met = ratio >= FULL_RATIO and run.p99_ms < FULL_P99_MS
        elif name.startswith("calsync conditional"):
            goal = f"≥ {CONDITIONAL_RATIO:g}x and ≥ {CONDITIONAL_RPS:,.0f}/s"
            met = ratio >= CONDITIONAL_RATIO and run.requests_per_second >= CONDITIONAL_RPS
        else:
            goal, met = "", True
        shown = f"{ratio:.1f}" if radicale_run else "n/a"
        print(f"| {name} | {c} | {run.requests_per_second:,.0f} | {run.p99_ms:.1f} | "
              f"{shown} | {goal}{'' if met else ' — MISSED'} |")


if __name__ == "__main__":
    main()
