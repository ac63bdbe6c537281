"""Settings: time zone, internal domains and keywords, cadence, API tokens, the feed."""

from __future__ import annotations

import re

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from calsync.models import ApiToken, Meeting, Prompt, User
from tests.web.conftest import Seed, load, post, query, seed_meetings


def test_change_the_time_zone(app: Flask, user: User, logged_in: FlaskClient) -> None:
    response = post(logged_in, "/settings/timezone", {"timezone": "Asia/Tokyo"},
                    follow_redirects=True)
    assert "Times are now shown in Asia/Tokyo." in response.get_data(as_text=True)
    assert load(app, User, user.id).timezone == "Asia/Tokyo"
    response = post(logged_in, "/settings/timezone", {"timezone": "Mars/Olympus"})
    assert response.status_code == 422
    assert "is not a known time zone" in response.get_data(as_text=True)


def test_an_internal_domain_stops_prompts_for_new_meetings(app: Flask, user: User,
                                                           logged_in: FlaskClient) -> None:
    html = logged_in.get("/settings").get_data(as_text=True)
    assert "out of office" in html  # the default keywords are shown and editable
    response = post(logged_in, "/settings/rules", {
        "internal_domains": "acme-group.com,\n  Sister.Example ", "skip_keywords": "lunch\nfocus"},
        follow_redirects=True)
    assert "Saved." in response.get_data(as_text=True)
    saved = load(app, User, user.id)
    assert saved.internal_domains == ["acme-group.com", "sister.example"]
    assert saved.skip_keywords == ["lunch", "focus"]
    ids = seed_meetings(app, user,
                        Seed("Budget sync", attendees=("cfo@sister.example",)),
                        Seed("Gym", attendees=("coach@fitness.example",)),
                        Seed("Demo for Tailspin", attendees=("ops@tailspin.example",)))
    assert set(ids) == {"Demo for Tailspin", "Gym"}  # "gym" is no longer a skip keyword
    skipped = {m.title: m.prompt_skip for m in query(app, select(Meeting))}
    assert skipped["Budget sync"] == "internal_only"


def test_rule_changes_judge_skipped_meetings_again(app: Flask, user: User,
                                                   logged_in: FlaskClient) -> None:
    ids = seed_meetings(app, user, Seed("Lunch and learn with Tailspin",
                                        attendees=("ops@tailspin.example",)))
    assert ids == {}
    post(logged_in, "/settings/rules", {"internal_domains": "", "skip_keywords": "focus"})
    assert query(app, select(Meeting.prompt_skip)) == [None]


def test_bad_domains_are_refused(app: Flask, user: User, logged_in: FlaskClient) -> None:
    response = post(logged_in, "/settings/rules", {"internal_domains": "not a domain",
                                                   "skip_keywords": "lunch"})
    assert response.status_code == 422
    assert "Not a domain: not a domain" in response.get_data(as_text=True)
    assert load(app, User, user.id).internal_domains == []


def _cadence(**changes: str) -> dict[str, str | list[str]]:
    form: dict[str, str | list[str]] = {
        "gaps_days": "2, 3, 5, 7, 10, 14, 21", "usual_low": "5", "usual_high": "7",
        "suggest_close_after": "7", "min_gap_days": "2", "usual_hour": "10", "usual_minute": "0",
        "working_days": ["mon", "tue", "wed", "thu", "fri"], "default_channel": "email",
        "default_duration_minutes": "30"}
    form.update(changes)
    return form


def test_cadence_keeps_only_the_changes(app: Flask, user: User, logged_in: FlaskClient) -> None:
    response = post(logged_in, "/settings/cadence", _cadence(usual_hour="14",
                                                             gaps_days="3 4 6"),
                    follow_redirects=True)
    assert "Saved your cadence." in response.get_data(as_text=True)
    assert load(app, User, user.id).cadence == {"usual_hour": 14, "gaps_days": [3, 4, 6]}
    html = logged_in.get("/settings").get_data(as_text=True)
    assert 'value="3, 4, 6"' in html
    post(logged_in, "/settings/cadence/reset")
    assert load(app, User, user.id).cadence is None


def test_cadence_suggestion_follows_the_usual_hour(app: Flask, user: User,
                                                   logged_in: FlaskClient,
                                                   seeded: dict[str, int]) -> None:
    post(logged_in, "/settings/cadence", _cadence(usual_hour="15"))
    html = logged_in.get("/").get_data(as_text=True)
    assert re.search(r'name="time" type="time" value="15:00"', html)


def test_a_bad_cadence_names_the_problem(app: Flask, user: User, logged_in: FlaskClient) -> None:
    response = post(logged_in, "/settings/cadence", _cadence(gaps_days="5, 3"))
    assert response.status_code == 422
    assert "never shrink" in response.get_data(as_text=True)
    response = post(logged_in, "/settings/cadence", _cadence(gaps_days="two"))
    assert "Write whole numbers of days" in response.get_data(as_text=True)
    assert load(app, User, user.id).cadence is None


def test_api_tokens_create_list_revoke(app: Flask, user: User, logged_in: FlaskClient) -> None:
    response = post(logged_in, "/settings/tokens", {"name": "Pipeline export"})
    html = response.get_data(as_text=True)
    assert response.headers["Cache-Control"] == "no-store"
    plaintext = re.search(r'id="new-token">([^<]+)<', html).group(1)  # type: ignore[union-attr]
    [row] = query(app, select(ApiToken))
    assert plaintext.startswith(row.prefix) and row.name == "Pipeline export"
    listed = logged_in.get("/settings").get_data(as_text=True)
    assert row.prefix in listed and plaintext not in listed  # shown once only
    assert "Pipeline export" in listed
    response = post(logged_in, f"/settings/tokens/{row.id}/revoke", follow_redirects=True)
    assert "Revoked the token." in response.get_data(as_text=True)
    assert load(app, ApiToken, row.id).revoked_at is not None
    assert "Pipeline export" not in logged_in.get("/settings").get_data(as_text=True)


def test_feed_links_and_rotation(app: Flask, user: User, logged_in: FlaskClient) -> None:
    html = logged_in.get("/settings").get_data(as_text=True)
    old = load(app, User, user.id).feed_token
    assert f"webcal://127.0.0.1:8000/feed/{old}.ics" in html
    assert f"http://127.0.0.1:8000/feed/{old}.ics" in html
    for words in ("From URL", "Subscribe from web", "New Calendar Subscription"):
        assert words in html
    assert logged_in.get(f"/feed/{old}.ics").status_code == 200
    response = post(logged_in, "/settings/feed/rotate", follow_redirects=True)
    assert "the old one no longer works" in response.get_data(as_text=True)
    new = load(app, User, user.id).feed_token
    assert new != old
    assert logged_in.get(f"/feed/{old}.ics").status_code == 404
    assert logged_in.get(f"/feed/{new}.ics").status_code == 200


def test_prompts_in_the_inbox_stay_after_a_rule_change(app: Flask, user: User,
                                                       logged_in: FlaskClient,
                                                       seeded: dict[str, int]) -> None:
    post(logged_in, "/settings/rules", {"internal_domains": "contoso.example",
                                        "skip_keywords": "lunch"})
    assert load(app, Prompt, seeded["Contoso demo"]).status == "pending"
