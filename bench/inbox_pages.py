"""The pages a rep works through, at the size of a busy quarter: the inbox with 500 waiting
prompts and the deals list with 300 deals — server time per page and bytes sent.

The baseline, measured in the same run, is the same page for a signed-in user with nothing
yet (an empty inbox, no deals): the fixed cost of any page (session, layout, CSRF), so the
ratio is what the rows cost. Each page is requested through the WSGI app (Flask's test
client, no network), so the time is the server's: queries, rendering, headers.

    python -m bench.inbox_pages [--prompts 500] [--deals 300] [--repeat 30] [--postgresql]
"""

from __future__ import annotations

import argparse
import gzip
import random
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient
from werkzeug.security import generate_password_hash

from bench.coach_stats import POSTGRESQL, History, load
from calsync import migrate
from calsync.app import create_app
from calsync.config import Settings
from calsync.db import get_db
from calsync.domain.vocabulary import Channel, FollowUpStatus, Outcome, PromptStatus
from calsync.models import Deal, FollowUp, Meeting, Prompt, Source, User
from tests.conftest import csrf_from
from tests.databases import own_schema

PASSWORD = "bench-password"  # a throwaway account in a throwaway database
# What a rep opens while working through the inbox: (label, path), with "{deal}" and
# "{prompt}" filled with one of the busy user's.
PAGES = (
    ("inbox", "/"),
    ("inbox, page 10", "/?page=10"),
    ("inbox search", "/?q=northwind"),
    ("one prompt", "/prompts/{prompt}"),
    ("deals", "/deals"),
    ("deals by last touch", "/deals?sort=last_touch"),
    ("deals search", "/deals?q=northwind"),
    ("one deal", "/deals/{deal}"),
)
BASELINE = {"inbox": "/", "deals": "/deals"}
COMPANIES = ("northwind", "contoso", "fabrikam", "tailspin", "wingtip", "adventure-works",
             "litware", "proseware", "wide-world", "fourth-coffee")


def busy_quarter(prompts: int, deals: int, now: datetime, seed: int = 10) -> History:
    """User 1: `deals` deals with one to six answered touches each and a follow-up planned
    (some overdue), and `prompts` meetings waiting for an answer spread over the last three
    weeks. User 2: signed up, nothing yet (the baseline)."""
    rng = random.Random(seed)  # noqa: S311 - a benchmark's spread, not a secret
    history = History()
    busy = _user(history, "rep@bench.example")
    _user(history, "new@bench.example")
    source = history.add(Source, user_id=busy, kind="ics", name="Work", url="", options={},
                         cursor={}, warnings=[], status="ok")
    deal_ids = []
    for d in range(deals):
        name = f"{COMPANIES[d % len(COMPANIES)]}-{d}.example"
        deal = history.add(Deal, user_id=busy, name=name.removesuffix(".example").title(),
                           key=f"domain:{name}", status="open", closed_at=None)
        deal_ids.append((deal, name))
        for k in range(rng.randint(1, 6)):
            end = now - timedelta(days=rng.uniform(22, 90))
            meeting = _meeting(history, busy, source, name, f"{d}-{k}", end)
            history.add(Prompt, user_id=busy, meeting_id=meeting, followup_id=None,
                        deal_id=deal, touch_at=end, status=PromptStatus.ANSWERED,
                        outcome=Outcome.NEXT_STEP, answered_at=end + timedelta(hours=2),
                        created_at=end)
        start = now + timedelta(days=rng.uniform(-5, 20))
        history.add(FollowUp, user_id=busy, deal_id=deal, uid=f"bench-{d}",
                    summary="Send the proposal", start=start, end=start + timedelta(minutes=30),
                    channel=Channel.EMAIL, status=FollowUpStatus.PLANNED, created_at=now)
    for n in range(prompts):
        deal, name = rng.choice(deal_ids)
        end = now - timedelta(hours=rng.uniform(1, 21 * 24))
        meeting = _meeting(history, busy, source, name, f"waiting-{n}", end)
        history.add(Prompt, user_id=busy, meeting_id=meeting, followup_id=None, deal_id=deal,
                    touch_at=end, status=PromptStatus.PENDING, outcome=None, answered_at=None,
                    created_at=end)
    return history


def _user(history: History, email: str) -> int:
    return history.add(User, email=email, password_hash=generate_password_hash(PASSWORD),
                       timezone="Europe/Berlin", feed_token=f"feed-{email}",
                       internal_domains=[])


def _meeting(history: History, user: int, source: int, company: str, uid: str,
             end: datetime) -> int:
    return history.add(
        Meeting, user_id=user, source_id=source, uid=uid, title=f"Call with {company}",
        start=end - timedelta(hours=1), end=end, organizer="rep@bench.example",
        attendees=[{"email": "rep@bench.example", "name": "Rep", "response": "accepted"},
                   {"email": f"buyer@{company}", "name": "Pat Buyer", "response": "accepted"},
                   {"email": f"cfo@{company}", "name": "Sam Finance", "response": "accepted"}])


def signed_in(app: Flask, email: str) -> FlaskClient:
    client = app.test_client()
    token = csrf_from(client.get("/login").get_data(as_text=True))
    response = client.post("/login", data={"email": email, "password": PASSWORD,
                                           "csrf_token": token})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    return client


def timed(client: FlaskClient, path: str, repeat: int) -> tuple[list[float], bytes]:
    """Seconds per request (after one warm-up request) and the last body."""
    body = _get(client, path)
    seconds = []
    for _ in range(repeat):
        began = time.perf_counter()
        body = _get(client, path)
        seconds.append(time.perf_counter() - began)
    return seconds, body


def _get(client: FlaskClient, path: str) -> bytes:
    response = client.get(path)
    assert response.status_code == 200, (path, response.status_code)
    return response.get_data()


def measure(app: Flask, history: History, repeat: int) -> None:
    busy, empty = signed_in(app, "rep@bench.example"), signed_in(app, "new@bench.example")
    deal = history.rows[Deal][0]["id"]
    prompt = next(row["id"] for row in history.rows[Prompt]
                  if row["status"] is PromptStatus.PENDING)
    baselines = {name: statistics.median(timed(empty, path, repeat)[0])
                 for name, path in BASELINE.items()}
    print(f"{'page':>20} {'median':>10} {'p95':>10} {'/ empty':>8} {'bytes':>9} {'gzip':>8}")
    for name, path in BASELINE.items():
        seconds, body = timed(empty, path, repeat)
        _row(f"{name} (empty)", seconds, body, baselines[name])
    for name, path in PAGES:
        seconds, body = timed(busy, path.format(deal=deal, prompt=prompt), repeat)
        baseline = baselines["deals" if "deal" in name else "inbox"]
        _row(name, seconds, body, baseline)


def _row(name: str, seconds: list[float], body: bytes, baseline: float) -> None:
    median, p95 = statistics.median(seconds), statistics.quantiles(seconds, n=20)[-1]
    print(f"{name:>20} {median * 1000:7.1f} ms {p95 * 1000:7.1f} ms {median / baseline:7.1f}x "
          f"{len(body):9,} {len(gzip.compress(body)):8,}")


def run(url: str, root: Path, history: History, repeat: int) -> None:
    settings = Settings.from_env({}, instance_path=root / "instance", secret_key="bench",
                                 database_url=url)
    app = create_app(settings)
    load(app, history)
    try:
        measure(app, history, repeat)
    finally:
        with app.app_context():
            get_db().dispose()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prompts", type=int, default=500)
    parser.add_argument("--deals", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--postgresql", action="store_true")
    args = parser.parse_args(argv)
    history = busy_quarter(args.prompts, args.deals, datetime.now(UTC).replace(microsecond=0))
    backend = "PostgreSQL" if args.postgresql else "SQLite"
    print(f"inbox and deals pages: {args.prompts} waiting prompts, {args.deals} deals, "
          f"{len(history.rows[Meeting]):,} meetings, {backend}, {args.repeat} requests each")
    with tempfile.TemporaryDirectory() as tmp:
        if args.postgresql:
            with own_schema(True, POSTGRESQL) as url:
                run(url, Path(tmp), history, args.repeat)
        else:
            url = f"sqlite:///{Path(tmp) / 'pages.db'}"
            migrate.upgrade(url)
            run(url, Path(tmp), history, args.repeat)


if __name__ == "__main__":
    main()
