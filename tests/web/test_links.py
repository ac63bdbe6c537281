"""Signed links from emails and calendar events, signed out: opening one changes nothing,
Confirm (a POST with its CSRF token) records through the inbox's services, a used link shows
the answer, and forged, expired or another user's links change nothing."""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from calsync.config import Settings
from calsync.db import get_db
from calsync.domain.vocabulary import AnswerAction, MissedReason
from calsync.feed.cache import current_feed
from calsync.feed.render import ASK
from calsync.jobs import writeback
from calsync.logscrub import scrub
from calsync.models import Deal, FollowUp, Prompt, Source, User
from calsync.services import links, prompts
from calsync.services.answers import Answer, NextStep, answer_prompt
from calsync.services.links import Link, LinkPurpose
from tests.conftest import csrf_from, login
from tests.web.conftest import Seed, load, query, seed_meetings


def _link(user: User, purpose: LinkPurpose = LinkPurpose.ANSWER, days: float = 14,
          **named: object) -> Link:
    expires = (datetime.now(UTC) + timedelta(days=days)).replace(microsecond=0)
    return Link(purpose, user.id, expires, **named)  # type: ignore[arg-type]


def _path(settings: Settings, link: Link) -> str:
    prefix = links.UNSUBSCRIBE_PATH if link.purpose is LinkPurpose.UNSUBSCRIBE else "/a/"
    return prefix + links.sign(settings, link)


def _answer_path(settings: Settings, user: User, prompt_id: int, action: AnswerAction) -> str:
    return _path(settings, _link(user, prompt_id=prompt_id, action=action))


def _confirm(client: FlaskClient, path: str, **data: str) -> tuple[int, str]:
    """Open the link and press Confirm, as a person does: the form's own CSRF token."""
    page = client.get(path).get_data(as_text=True)
    response = client.post(path, data={"csrf_token": csrf_from(page), **data},
                           follow_redirects=True)
    return response.status_code, response.get_data(as_text=True)


@pytest.fixture
def prompt_id(app: Flask, user: User) -> int:
    return seed_meetings(app, user, Seed("Contoso demo", attendees=("lena@contoso.example",)))[
        "Contoso demo"]


@pytest.fixture
def link_settings(app: Flask) -> Settings:
    settings: Settings = app.extensions["calsync.settings"]
    return settings


def test_opening_a_link_changes_nothing_and_shows_the_meeting(
        app: Flask, client: FlaskClient, user: User, prompt_id: int,
        link_settings: Settings) -> None:
    path = _answer_path(link_settings, user, prompt_id, AnswerAction.YES)
    assert client.head(path).status_code == 200
    response = client.get(path)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Contoso demo" in html and "lena@contoso.example" in html
    assert "touch 1 of a usual 5-7" in html
    assert "Mark it as a yes?" in html and "Confirm: yes" in html
    assert 'name="csrf_token"' in html and "<script>" not in html.split("</head>")[1]
    assert "(Europe/Berlin)" in html  # the user's zone, though nobody is signed in
    prompt = load(app, Prompt, prompt_id)
    assert (prompt.status, prompt.outcome) == ("pending", None)
    assert client.get("/").status_code == 302  # the link signed nobody in


def test_confirm_records_and_a_second_use_shows_the_answer(
        app: Flask, client: FlaskClient, user: User, prompt_id: int,
        link_settings: Settings) -> None:
    status, html = _confirm(client, _answer_path(link_settings, user, prompt_id,
                                                 AnswerAction.YES), note="Signed")
    assert status == 200 and "Recorded: Yes" in html and "Already answered" in html
    prompt = load(app, Prompt, prompt_id)
    assert (prompt.status, prompt.outcome, prompt.note) == ("answered", "yes", "Signed")
    assert load(app, Deal, prompt.deal_id).status == "won"
    # Another button of the same email, later: it shows the answer and changes nothing.
    other = _answer_path(link_settings, user, prompt_id, AnswerAction.NO)
    html = client.get(other).get_data(as_text=True)
    assert "Already answered" in html and "Change it in calsync" in html
    assert f"/prompts/{prompt_id}" in html
    client.post(other, data={"csrf_token": csrf_from(
        client.get("/login").get_data(as_text=True)), "outcome": "no"})
    assert load(app, Prompt, prompt_id).outcome == "yes"


def test_a_post_without_the_forms_token_records_nothing(
        app: Flask, client: FlaskClient, user: User, prompt_id: int,
        link_settings: Settings) -> None:
    path = _answer_path(link_settings, user, prompt_id, AnswerAction.YES)
    assert client.post(path, data={"outcome": "yes"}).status_code == 400
    assert load(app, Prompt, prompt_id).status == "pending"


def test_no_takes_a_reason_and_the_links_action_wins_over_the_form(
        app: Flask, client: FlaskClient, user: User, prompt_id: int,
        link_settings: Settings) -> None:
    path = _answer_path(link_settings, user, prompt_id, AnswerAction.NO)
    status, _ = _confirm(client, path, outcome="yes", no_reason="no_budget")
    assert status == 200
    prompt = load(app, Prompt, prompt_id)
    assert (prompt.outcome, prompt.no_reason) == ("no", "no_budget")


def test_next_step_is_prefilled_from_the_cadence_and_plans_the_follow_up(
        app: Flask, client: FlaskClient, user: User, prompt_id: int,
        link_settings: Settings) -> None:
    path = _answer_path(link_settings, user, prompt_id, AnswerAction.NEXT_STEP)
    html = client.get(path).get_data(as_text=True)
    assert 'value="Follow up with Contoso"' in html  # the deal's name
    assert 'value="10:00"' in html  # the cadence's usual hour, in the user's zone
    _, html = _confirm(client, path, summary="Send the pilot price", date=_date_in(html),
                       time="10:00", duration="30", channel="email", note="")
    assert "Next step planned: Send the pilot price" in html
    [followup] = query(app, select(FollowUp))
    assert followup.summary == "Send the pilot price"
    assert followup.start.astimezone(ZoneInfo("Europe/Berlin")).strftime("%H:%M") == "10:00"
    assert load(app, Prompt, prompt_id).outcome == "next_step"


def _date_in(html: str) -> str:
    start = html.index('name="date"')
    return html[start:].split('value="', 1)[1].split('"', 1)[0]


def test_an_incomplete_next_step_shows_the_form_again(
        app: Flask, client: FlaskClient, user: User, prompt_id: int,
        link_settings: Settings) -> None:
    path = _answer_path(link_settings, user, prompt_id, AnswerAction.NEXT_STEP)
    page = client.get(path).get_data(as_text=True)
    response = client.post(path, data={"csrf_token": csrf_from(page), "summary": "",
                                       "date": "", "time": ""})
    assert response.status_code == 422
    assert "Say what the next step is." in response.get_data(as_text=True)
    assert load(app, Prompt, prompt_id).status == "pending"


def test_snooze_and_not_a_sales_meeting(app: Flask, client: FlaskClient, user: User,
                                        link_settings: Settings) -> None:
    ids = seed_meetings(app, user, Seed("Partner sync"), Seed("Pilot review"))
    _, html = _confirm(client, _answer_path(link_settings, user, ids["Pilot review"],
                                            AnswerAction.SNOOZE), until="next_week")
    assert "Snoozed until" in html
    snoozed = load(app, Prompt, ids["Pilot review"])
    assert snoozed.status == "snoozed"
    assert snoozed.snoozed_until > datetime.now(UTC) + timedelta(days=6)
    _, html = _confirm(client, _answer_path(link_settings, user, ids["Partner sync"],
                                            AnswerAction.NOT_SALES))
    assert "not a sales meeting" in html
    assert load(app, Prompt, ids["Partner sync"]).dismiss_reason == "not_sales"


@pytest.mark.parametrize("tamper", ["forged", "changed", "expired", "unsubscribe"])
def test_unusable_links_get_the_clear_page_and_change_nothing(
        app: Flask, client: FlaskClient, user: User, prompt_id: int,
        link_settings: Settings, tamper: str) -> None:
    link = _link(user, prompt_id=prompt_id, action=AnswerAction.YES)
    path = _path(link_settings, link)
    if tamper == "forged":
        path = "/a/" + links.sign(Settings.from_env({}, instance_path=link_settings.instance_path,
                                                    secret_key="not-ours"), link)
    elif tamper == "changed":
        signature = path.rsplit(".", 1)[1]
        other = links.sign(link_settings, _link(user, prompt_id=prompt_id + 1,
                                                action=AnswerAction.YES))
        path = f"/a/{other.split('.')[0]}.{signature}"
    elif tamper == "expired":
        path = _path(link_settings, _link(user, days=-1, prompt_id=prompt_id,
                                          action=AnswerAction.YES))
    else:  # an unsubscribe token is no answer link
        path = "/a/" + links.sign(link_settings, _link(user, LinkPurpose.UNSUBSCRIBE))
    form_token = csrf_from(client.get("/login").get_data(as_text=True))
    for response in (client.get(path),
                     client.post(path, data={"csrf_token": form_token, "outcome": "yes"})):
        html = response.get_data(as_text=True)
        assert response.status_code == 400
        assert "This link can't be used" in html and "Open your inbox" in html
        assert "Nothing was changed." in html
    if tamper == "expired":
        assert "This link has expired." in html
    assert load(app, Prompt, prompt_id).status == "pending"


def test_another_users_prompt_or_session_is_refused(
        app: Flask, client: FlaskClient, user: User, make_user, prompt_id: int,  # type: ignore[no-untyped-def]
        link_settings: Settings) -> None:
    other = make_user("bo@acme-sales.com")
    # A genuine token of Bo's that names Ana's prompt.
    html = client.get(_answer_path(link_settings, other, prompt_id, AnswerAction.YES)
                      ).get_data(as_text=True)
    assert "This link can't be used" in html
    # Ana's own link, opened in Bo's signed-in browser.
    login(client, other.email)
    html = client.get(_answer_path(link_settings, user, prompt_id, AnswerAction.YES)
                      ).get_data(as_text=True)
    assert "belongs to another calsync account" in html
    assert load(app, Prompt, prompt_id).status == "pending"


def test_one_click_unsubscribe_needs_no_cookie_nor_csrf_token(
        app: Flask, client: FlaskClient, user: User, link_settings: Settings) -> None:
    path = _path(link_settings, _link(user, LinkPurpose.UNSUBSCRIBE))
    html = client.get(path).get_data(as_text=True)
    assert "Stop prompt emails?" in html
    assert load(app, User, user.id).email_prompts == "each"  # opening changed nothing
    mail_provider = app.test_client(use_cookies=False)
    response = mail_provider.post(path, data="List-Unsubscribe=One-Click",
                                  content_type="application/x-www-form-urlencoded")
    assert response.status_code == 200
    assert load(app, User, user.id).email_prompts == "off"
    assert "Prompt emails are off" in client.get(path).get_data(as_text=True)
    forged = path[:-3] + ("AAA" if not path.endswith("AAA") else "BBB")
    assert mail_provider.post(forged, data="List-Unsubscribe=One-Click").status_code == 400


def _plan(app: Flask, user: User, prompt_id: int, start: datetime) -> int:
    settings = app.extensions["calsync.settings"]
    with app.app_context(), get_db().session() as session:
        owner = session.get(User, user.id)
        step = NextStep("Call about the pilot", start, 30, "call")
        # Planned while its time was still ahead: a next step in the past is refused.
        result = answer_prompt(session, settings, owner, session.get(Prompt, prompt_id),
                               Answer("next_step", next_step=step),
                               now=min(datetime.now(UTC), start - timedelta(hours=1)))
        assert result.followup is not None
        return result.followup.id


def test_a_follow_ups_link_says_not_yet_then_leads_to_its_prompt(
        app: Flask, client: FlaskClient, user: User, prompt_id: int,
        link_settings: Settings) -> None:
    start = datetime.now(UTC) + timedelta(days=2)
    followup_id = _plan(app, user, prompt_id, start)
    path = _path(link_settings, _link(user, LinkPurpose.FOLLOWUP, followup_id=followup_id))
    html = client.get(path).get_data(as_text=True)
    assert "Not yet" in html and "Call about the pilot" in html
    # Its time passes and calsync asks about it.
    with app.app_context(), get_db().session() as session:
        prompts.create_due_prompts(session, link_settings, start + timedelta(hours=2),
                                   user_id=user.id)
    html = client.get(path).get_data(as_text=True)
    assert "How did it go?" in html and "Not yet" not in html
    onward = [part.split('"', 1)[0] for part in html.split('href="')[1:]
              if part.startswith(f"{link_settings.base_url.rstrip('/')}/a/")]
    assert len(onward) == 5  # next step, yes, no, snooze, not a sales meeting
    _, html = _confirm(client, onward[1].removeprefix(link_settings.base_url.rstrip("/")))
    [asked] = query(app, select(Prompt).where(Prompt.followup_id == followup_id))
    assert (asked.status, asked.outcome) == ("answered", "yes")
    assert "Already answered" in client.get(path).get_data(as_text=True)


def test_a_missed_link_records_the_reason_through_the_coach(
        app: Flask, client: FlaskClient, user: User, prompt_id: int,
        link_settings: Settings) -> None:
    followup_id = _plan(app, user, prompt_id, datetime.now(UTC) - timedelta(hours=3))
    path = _path(link_settings, _link(user, LinkPurpose.MISSED, followup_id=followup_id,
                                      reason=MissedReason.WAITING))
    html = client.get(path).get_data(as_text=True)
    [checked] = re.findall(r'<input checked[^>]*value="(\w+)"', html)
    assert checked == "waiting"  # the reason the coach's email offered
    assert load(app, FollowUp, followup_id).missed_reason is None
    _, html = _confirm(client, path, reason="waiting", note="Their legal team")
    assert "Reason noted" in html and "Waiting on them" in html
    followup = load(app, FollowUp, followup_id)
    assert (followup.missed_reason, followup.missed_note) == ("waiting", "Their legal team")


def test_opens_and_confirmations_are_logged_apart_without_the_token(
        app: Flask, client: FlaskClient, user: User, prompt_id: int,
        link_settings: Settings, caplog: pytest.LogCaptureFixture) -> None:
    path = _answer_path(link_settings, user, prompt_id, AnswerAction.YES)
    with caplog.at_level(logging.INFO, logger="calsync.web.pages.links"):
        _confirm(client, path)
    lines = [record.getMessage() for record in caplog.records
             if record.name == "calsync.web.pages.links"]
    assert any(line.startswith("answer link opened: answer yes") for line in lines)
    assert [line for line in lines if "confirmed" in line] == [
        f"answer link confirmed: answer yes prompt {prompt_id} of user {user.id}"]
    token = path.removeprefix("/a/")
    assert all(part not in line for line in lines for part in token.split("."))


def test_an_access_log_line_loses_the_whole_token(user: User,
                                                  link_settings: Settings) -> None:
    for purpose in (LinkPurpose.ANSWER, LinkPurpose.UNSUBSCRIBE):
        url = links.url(link_settings, _link(user, purpose, prompt_id=7,
                                             action=AnswerAction.YES))
        token = url.rsplit("/", 1)[1]
        line = scrub(f'127.0.0.1 - - "GET {url} HTTP/1.1" 200 "POST /{url.split("/", 3)[3]}"')
        assert all(part not in line for part in token.split(".")), line


def test_the_feed_asks_how_it_went_with_the_same_bytes_every_time(
        app: Flask, user: User, prompt_id: int, link_settings: Settings) -> None:
    end = datetime.now(UTC) + timedelta(days=2, minutes=30)
    followup_id = _plan(app, user, prompt_id, end - timedelta(minutes=30))
    with app.app_context(), get_db().session() as session:
        owner = session.get(User, user.id)
        first = bytes(current_feed(session, link_settings, owner).body)
        again = bytes(current_feed(session, link_settings, owner,
                                   datetime.now(UTC) + timedelta(minutes=5)).body)
    assert first == again
    unfolded = first.decode().replace("\r\n ", "")
    assert ASK in unfolded
    token = unfolded.split(f"{ASK} ", 1)[1].split("/a/", 1)[1].split("\r\n", 1)[0]
    link = links.read(link_settings, token)
    assert (link.purpose, link.followup_id, link.user_id) == (
        LinkPurpose.FOLLOWUP, followup_id, user.id)


def test_the_follow_ups_calendar_event_asks_how_it_went(
        app: Flask, user: User, prompt_id: int, link_settings: Settings) -> None:
    followup_id = _plan(app, user, prompt_id, datetime.now(UTC) + timedelta(days=2))
    with app.app_context(), get_db().session() as session:
        followup = session.get(FollowUp, followup_id)
        source = session.get(Source, session.get(Prompt, prompt_id).meeting.source_id)
        event = writeback.outgoing_event(session, link_settings, followup, source)
        expected = links.followup_url(link_settings, user.id, followup_id, followup.end)
    assert event.description.endswith(f"{ASK} {expected}")


def test_a_link_to_a_covered_prompt_names_the_answer_that_covered_it(
        app: Flask, client: FlaskClient, user: User, link_settings: Settings) -> None:
    seeded = seed_meetings(app, user, Seed("Contoso intro", hours_ago=50,
                                           attendees=("lena@contoso.example",)),
                           Seed("Contoso pricing", attendees=("lena@contoso.example",)))
    login(client, user.email)
    page = client.get(f"/prompts/{seeded['Contoso pricing']}").get_data(as_text=True)
    client.post(f"/prompts/{seeded['Contoso pricing']}/answer",
                data={"csrf_token": csrf_from(page), "outcome": "yes"})
    client.get("/logout")
    path = _answer_path(link_settings, user, seeded["Contoso intro"], AnswerAction.NO)
    html = client.get(path).get_data(as_text=True)
    assert "Already answered" in html
    assert "Covered by your answer on “Contoso pricing” (Yes" in html
    assert load(app, Prompt, seeded["Contoso intro"]).status == "covered"
