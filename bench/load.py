"""Load test: the Procfile's web and worker processes on PostgreSQL and Redis, driven by N
simulated users over HTTP on loopback through sync → prompt → answer. Not part of `make test`.

    python -m bench.load --users 100        (CALSYNC_BENCH_DATABASE_URL, CALSYNC_BENCH_REDIS_URL)
"""

from __future__ import annotations

import argparse
import os
import shlex
import signal
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import requests

from calsync.db import Database
from calsync.services import accounts
from tests.databases import own_schema
from tests.servers.http_files import FileServer

ROOT = Path(__file__).resolve().parent.parent
DATABASE = os.environ.get("CALSYNC_BENCH_DATABASE_URL",
                          "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REDIS = os.environ.get("CALSYNC_BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")


@dataclass
class Results:
    latencies: dict[str, list[float]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    queue_lag: list[float] = field(default_factory=list)  # source created → synced
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, name: str, seconds: float) -> None:
        with self.lock:
            self.latencies.setdefault(name, []).append(seconds)

    def fail(self, message: str) -> None:
        with self.lock:
            self.errors.append(message)


def feed(user: int) -> bytes:
    """Three meetings that ended in the last days, with a prospect, and one ahead."""
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//calsync load//EN"]
    for n, hours in enumerate((3, 26, 50, -30)):
        start = now - timedelta(hours=hours)
        lines += ["BEGIN:VEVENT", f"UID:load-{user}-{n}", f"SUMMARY:Call {n} with Prospect {user}",
                  f"DTSTART:{start:%Y%m%dT%H%M%SZ}",
                  f"DTEND:{start + timedelta(minutes=45):%Y%m%dT%H%M%SZ}",
                  f"ATTENDEE:mailto:buyer@prospect{user}.example", "END:VEVENT"]
    return ("\r\n".join([*lines, "END:VCALENDAR"]) + "\r\n").encode()


def procfile() -> dict[str, str]:
    entries = {}
    for line in (ROOT / "Procfile").read_text().splitlines():
        name, _, command = line.partition(":")
        entries[name.strip()] = command.strip()
    return entries


@contextmanager
def processes(env: dict[str, str], workers: int) -> Iterator[None]:
    commands = procfile()
    bin_dir = str(Path(sys.executable).parent)
    env = {**env, "PATH": f"{bin_dir}:{env.get('PATH', '')}"}
    started = [subprocess.Popen(["bash", "-c", commands["web"]], env=env,  # noqa: S607
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                start_new_session=True)]
    started += [subprocess.Popen(shlex.split(commands["worker"]), env=env,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                 start_new_session=True) for _ in range(workers)]
    try:
        yield
    finally:
        for process in started:
            os.killpg(process.pid, signal.SIGTERM)
        for process in started:
            process.wait(timeout=30)


def wait_ready(base: str, deadline: float) -> None:
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{base}/readyz", timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise SystemExit("the web process never became ready")


def simulate(user: int, token: str, base: str, feed_url: str, results: Results,
             deadline: float) -> None:
    """One salesperson: add a calendar, wait for its sync, answer the first prompt."""
    http = requests.Session()
    http.headers["Authorization"] = f"Bearer {token}"

    def call(name: str, method: str, path: str, **kwargs: object) -> requests.Response | None:
        began = time.perf_counter()
        try:
            response = http.request(method, base + path, timeout=30, **kwargs)  # type: ignore[arg-type]
        except requests.RequestException as error:
            results.fail(f"{name}: {type(error).__name__}")
            return None
        results.record(name, time.perf_counter() - began)
        if response.status_code >= 400:
            results.fail(f"{name}: HTTP {response.status_code}")
            return None
        return response

    created_at = time.monotonic()
    created = call("add source", "POST", "/api/v1/sources",
                   json={"kind": "ics", "url": feed_url, "name": f"user {user}"})
    if created is None:
        return
    source_id = created.json()["id"]
    while time.monotonic() < deadline:
        polled = call("source status", "GET", f"/api/v1/sources/{source_id}")
        if polled is None:
            return
        if polled.json()["status"] in ("ok", "error"):
            results.queue_lag.append(time.monotonic() - created_at)
            break
        time.sleep(0.25)
    else:
        results.fail("sync: not done before the deadline")
        return
    prompts = call("list prompts", "GET", "/api/v1/prompts?status=pending")
    if prompts is None or not prompts.json()["items"]:
        results.fail("prompts: none after sync")
        return
    prompt = prompts.json()["items"][0]
    call("answer", "POST", f"/api/v1/prompts/{prompt['id']}/answer", json={
        "outcome": "next_step", "note": "load test",
        "next_step": {"summary": "Follow up", "start": prompt["suggestion"]["start"],
                      "duration_minutes": 30, "channel": "email"}})
    call("list deals", "GET", "/api/v1/deals")


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else 0.0


def report(results: Results, users: int, elapsed: float) -> None:
    every = [t for series in results.latencies.values() for t in series]
    print(f"users {users}, {len(every)} requests in {elapsed:.1f} s: "
          f"{len(every) / elapsed:.1f} requests/s, {len(results.errors)} errors")
    print(f"{'request':<15} {'count':>6} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}")
    for name, series in [*results.latencies.items(), ("all", every)]:
        print(f"{name:<15} {len(series):>6} {percentile(series, .5) * 1000:>8.1f} "
              f"{percentile(series, .95) * 1000:>8.1f} {percentile(series, .99) * 1000:>8.1f}")
    lag = results.queue_lag
    if lag:
        print(f"queue lag (source added → synced): p50 {statistics.median(lag):.2f} s, "
              f"p95 {percentile(lag, .95):.2f} s, max {max(lag):.2f} s")
    for error in sorted(set(results.errors))[:10]:
        print(f"  error: {error} (x{results.errors.count(error)})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--workers", type=int, default=2, help="worker processes")
    parser.add_argument("--seconds", type=float, default=300, help="give up after this long")
    args = parser.parse_args()
    port = 18000 + os.getpid() % 1000
    base = f"http://127.0.0.1:{port}"
    with own_schema(True, DATABASE) as url, FileServer() as files:
        database = Database(url)
        tokens = []
        with database.session() as session:
            for n in range(args.users):
                user = accounts.create_user(session, f"rep{n}@seller{n}.example", None, "UTC")
                tokens.append(accounts.create_api_token(session, user, "load")[1])
            session.commit()
        database.dispose()
        feeds = [files.serve(f"/u{n}.ics", feed(n)) for n in range(args.users)]
        env = {**os.environ, "DATABASE_URL": url, "REDIS_URL": REDIS, "PORT": str(port),
               "CALSYNC_QUEUE_NAME": f"load-{uuid.uuid4().hex[:8]}", "BASE_URL": base,
               "CALSYNC_ALLOW_PRIVATE_URLS": "1", "CALSYNC_LOG_FORMAT": "text",
               "SECRET_KEY": "load-test", "CALSYNC_WORKER_THREADS": "4", "LOG_LEVEL": "WARNING"}
        results = Results()
        with processes(env, args.workers):
            deadline = time.monotonic() + args.seconds
            wait_ready(base, time.monotonic() + 60)
            began = time.monotonic()
            with ThreadPoolExecutor(args.concurrency) as pool:
                for n in range(args.users):
                    pool.submit(simulate, n, tokens[n], base, feeds[n], results, deadline)
            report(results, args.users, time.monotonic() - began)


if __name__ == "__main__":
    main()
