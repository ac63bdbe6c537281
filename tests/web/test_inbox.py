"""The inbox: answering yes, no or a next step, changing an answer, snooze, dismiss, no-show."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from calsync.models import Deal, FollowUp, Prompt, SkippedSeries, User
from tests.web.conftest import Seed, load, post, query, seed_meetings


def _next_step(days: int = 3, **extra: str) -> dict[str, str]:
    day = (datetime.now(ZoneInfo("Europe/Berlin")) + timedelta(days=days)).date()
    return {"outcome": "next_step", "summary": "Send the proposal", "date": day.isoformat(),
            "time": "10:30", "duration": "30", "channel": "call", "note": "", **extra}


def test_inbox_lists_pending_prompts_newest_first(logged_in: FlaskClient,
                                                  seeded: dict[str, int]) -> None:
    html = logged_in.get("/").get_data(as_text=True)
    assert html.index("Contoso demo") < html.index("Northwind discovery call")
    assert "touch 1 of a usual 5-7" in html
    assert "buyer@northwind.example" in html
    assert 'name="csrf_token"' in html
    assert "Plan next step" in html and "Not a sales meeting" in html
    assert "follow up by email" in html  # the cadence's suggestion
    assert "No next touch planned" in html  # both new deals have nothing planned


def test_a_crowded_meeting_names_a_few_and_counts_the_rest(app: Flask, user: User,
                                                            logged_in: FlaskClient) -> None:
    people = tuple(f"buyer{n:02}@northwind.example" for n in range(20))
    seed_meetings(app, user, Seed("Buying committee", attendees=people))
    html = logged_in.get("/").get_data(as_text=True)
    assert "buyer07@northwind.example" in html and "buyer08@northwind.example" not in html
    assert "and 12 more" in html


def test_yes_wins_the_deal(app: Flask, logged_in: FlaskClient, seeded: dict[str, int]) -> None:
    prompt_id = seeded["Contoso demo"]
    response = post(logged_in, f"/prompts/{prompt_id}/answer",
                    {"outcome": "yes", "note": "Signed <b>today</b>"}, follow_redirects=True)
    html = response.get_data(as_text=True)
    assert "marked as a yes" in html
    assert "Contoso demo" not in html.split("</h1>", 1)[1].split("<aside>")[0]
    prompt = load(app, Prompt, prompt_id)
    assert (prompt.status, prompt.outcome) == ("answered", "yes")
    assert prompt.note == "Signed <b>today</b>"
    assert load(app, Deal, prompt.deal_id).status == "won"
    page = logged_in.get(f"/prompts/{prompt_id}").get_data(as_text=True)
    assert "Signed &lt;b&gt;today&lt;/b&gt;" in page  # escaped, never rendered as markup


def test_no_with_a_reason_loses_the_deal(app: Flask, logged_in: FlaskClient,
                                         seeded: dict[str, int]) -> None:
    prompt_id = seeded["Northwind discovery call"]
    response = post(logged_in, f"/prompts/{prompt_id}/answer",
                    {"outcome": "no", "no_reason": "chose_competitor"}, follow_redirects=True)
    assert "marked as a no (chose a competitor)" in response.get_data(as_text=True)
    prompt = load(app, Prompt, prompt_id)
    assert prompt.no_reason == "chose_competitor"
    assert load(app, Deal, prompt.deal_id).status == "lost"


def test_next_step_plans_a_follow_up_in_the_users_zone(app: Flask, logged_in: FlaskClient,
                                                       seeded: dict[str, int]) -> None:
    prompt_id = seeded["Contoso demo"]
    data = _next_step(note="They want the pilot priced")
    response = post(logged_in, f"/prompts/{prompt_id}/answer", data, follow_redirects=True)
    assert "Next step planned" in response.get_data(as_text=True)
    [followup] = query(app, select(FollowUp))
    local = followup.start.astimezone(ZoneInfo("Europe/Berlin"))
    assert (local.date().isoformat(), local.strftime("%H:%M")) == (data["date"], "10:30")
    assert (followup.channel, followup.summary) == ("call", "Send the proposal")
    assert followup.end - followup.start == timedelta(minutes=30)
    prompt = load(app, Prompt, prompt_id)
    assert prompt.outcome == "next_step"
    assert load(app, Deal, prompt.deal_id).status == "open"
    deals_html = logged_in.get("/deals").get_data(as_text=True)
    assert "Send the proposal" in deals_html


def test_next_step_too_soon_shows_the_spacing_warning(app: Flask, user: User,
                                                      logged_in: FlaskClient) -> None:
    # Ended an hour ago, planned ten minutes ahead: the same day or the next whatever the
    # clock says (a fixed "today 23:59" is two days after a touch of 26 hours ago at 00:30).
    prompt_id = seed_meetings(app, user, Seed("Fabrikam call", hours_ago=1))["Fabrikam call"]
    soon = datetime.now(ZoneInfo("Europe/Berlin")) + timedelta(minutes=10)
    response = post(logged_in, f"/prompts/{prompt_id}/answer",
                    _next_step(date=soon.date().isoformat(), time=f"{soon:%H:%M}"),
                    follow_redirects=True)
    html = response.get_data(as_text=True)
    assert "Next step planned" in html
    assert "Leave at least 2 days between touches" in html


def test_incomplete_next_step_is_shown_on_the_form(app: Flask, logged_in: FlaskClient,
                                                   seeded: dict[str, int]) -> None:
    prompt_id = seeded["Contoso demo"]
    response = post(logged_in, f"/prompts/{prompt_id}/answer", _next_step(summary=""))
    assert response.status_code == 422
    assert "Say what the next step is." in response.get_data(as_text=True)
    assert load(app, Prompt, prompt_id).status == "pending"
    assert query(app, select(FollowUp)) == []


def test_changing_next_step_to_yes_cancels_the_follow_up(app: Flask, logged_in: FlaskClient,
                                                         seeded: dict[str, int]) -> None:
    prompt_id = seeded["Contoso demo"]
    post(logged_in, f"/prompts/{prompt_id}/answer", _next_step())
    page = logged_in.get(f"/prompts/{prompt_id}").get_data(as_text=True)
    assert "Change the answer" in page
    assert 'value="Send the proposal"' in page  # the form starts from the current answer
    response = post(logged_in, f"/prompts/{prompt_id}/answer",
                    {"outcome": "yes", "return_to": "prompt"})
    assert response.headers["Location"].endswith(f"/prompts/{prompt_id}")
    # The next step cancelled; the yes planned the cadence's after-sale touches.
    [followup] = query(app, select(FollowUp).where(FollowUp.kind == "follow_up"))
    assert followup.status == "cancelled"
    assert load(app, Deal, load(app, Prompt, prompt_id).deal_id).status == "won"


def test_snooze_hides_the_prompt_until_later(app: Flask, logged_in: FlaskClient,
                                             seeded: dict[str, int]) -> None:
    prompt_id = seeded["Contoso demo"]
    response = post(logged_in, f"/prompts/{prompt_id}/snooze", {"until": "tomorrow"},
                    follow_redirects=True)
    html = response.get_data(as_text=True)
    assert "Snoozed" in html
    assert f'id="prompt-{prompt_id}"' not in html
    prompt = load(app, Prompt, prompt_id)
    assert prompt.status == "snoozed"
    assert prompt.snoozed_until > datetime.now(UTC) + timedelta(hours=1)


def test_a_finished_snooze_brings_the_prompt_back(app: Flask, logged_in: FlaskClient,
                                                  seeded: dict[str, int]) -> None:
    prompt_id = seeded["Contoso demo"]
    post(logged_in, f"/prompts/{prompt_id}/snooze", {"until": "hour"})
    with app.app_context():
        from calsync.db import get_db

        with get_db().session() as session:
            session.get(Prompt, prompt_id).snoozed_until = datetime.now(UTC) - timedelta(minutes=1)
            session.commit()
    assert f'id="prompt-{prompt_id}"' in logged_in.get("/").get_data(as_text=True)


def test_dismiss_with_skip_series(app: Flask, user: User, logged_in: FlaskClient) -> None:
    ids = seed_meetings(app, user, Seed("Weekly sync with Tailspin", series_uid="tailspin-weekly",
                                        attendees=("ops@tailspin.example",)))
    prompt_id = ids["Weekly sync with Tailspin"]
    assert "Skip all future occurrences of this series" in logged_in.get("/").get_data(
        as_text=True)
    response = post(logged_in, f"/prompts/{prompt_id}/dismiss", {"skip_series": "y"},
                    follow_redirects=True)
    assert "won&#39;t ask about this series again" in response.get_data(as_text=True)
    prompt = load(app, Prompt, prompt_id)
    assert (prompt.status, prompt.dismiss_reason) == ("dismissed", "not_sales")
    [skipped] = query(app, select(SkippedSeries))
    assert skipped.series_uid == "tailspin-weekly"


def test_single_meetings_have_no_skip_series_box(logged_in: FlaskClient,
                                                 seeded: dict[str, int]) -> None:
    html = logged_in.get("/").get_data(as_text=True)
    assert "Skip all future occurrences" not in html


def test_didnt_happen_with_reschedule(app: Flask, logged_in: FlaskClient,
                                      seeded: dict[str, int]) -> None:
    prompt_id = seeded["Northwind discovery call"]
    day = (datetime.now(ZoneInfo("Europe/Berlin")) + timedelta(days=2)).date()
    response = post(logged_in, f"/prompts/{prompt_id}/didnt-happen",
                    {"action": "reschedule", "reschedule_date": day.isoformat(),
                     "reschedule_time": "15:00", "reschedule_duration": "45"},
                    follow_redirects=True)
    assert "rescheduled to" in response.get_data(as_text=True)
    prompt = load(app, Prompt, prompt_id)
    assert (prompt.status, prompt.dismiss_reason, prompt.outcome) == (
        "dismissed", "didnt_happen", None)
    [followup] = query(app, select(FollowUp))
    assert followup.summary == "Northwind discovery call"
    assert followup.start.astimezone(ZoneInfo("Europe/Berlin")).strftime("%H:%M") == "15:00"
    assert followup.end - followup.start == timedelta(minutes=45)


def test_didnt_happen_without_a_new_time(app: Flask, logged_in: FlaskClient,
                                         seeded: dict[str, int]) -> None:
    prompt_id = seeded["Northwind discovery call"]
    response = post(logged_in, f"/prompts/{prompt_id}/didnt-happen", {"action": "skip"},
                    follow_redirects=True)
    assert "No touch counted" in response.get_data(as_text=True)
    assert load(app, Prompt, prompt_id).dismiss_reason == "didnt_happen"
    assert query(app, select(FollowUp)) == []


def test_reschedule_needs_date_and_time(app: Flask, logged_in: FlaskClient,
                                        seeded: dict[str, int]) -> None:
    prompt_id = seeded["Northwind discovery call"]
    response = post(logged_in, f"/prompts/{prompt_id}/didnt-happen", {"action": "reschedule"},
                    follow_redirects=True)
    assert "give both a date and a time" in response.get_data(as_text=True)
    assert load(app, Prompt, prompt_id).status == "pending"


def test_move_to_a_new_deal(app: Flask, logged_in: FlaskClient, seeded: dict[str, int]) -> None:
    prompt_id = seeded["Contoso demo"]
    response = post(logged_in, f"/prompts/{prompt_id}/move", {"deal_id": "0",
                                                               "new_deal": "Contoso expansion"},
                    follow_redirects=True)
    assert "Moved to the deal “Contoso expansion”" in response.get_data(as_text=True)
    deal = load(app, Deal, load(app, Prompt, prompt_id).deal_id)
    assert (deal.name, deal.key) == ("Contoso expansion", None)


def test_move_to_an_existing_deal(app: Flask, logged_in: FlaskClient,
                                  seeded: dict[str, int]) -> None:
    target = load(app, Prompt, seeded["Northwind discovery call"]).deal_id
    prompt_id = seeded["Contoso demo"]
    page = logged_in.get(f"/prompts/{prompt_id}").get_data(as_text=True)
    assert f'name="deal_id" value="{target}"' in page  # one of the picker's deals
    post(logged_in, f"/prompts/{prompt_id}/move", {"deal_id": str(target)})
    assert load(app, Prompt, prompt_id).deal_id == target


def test_a_follow_up_whose_time_passed_is_asked_about(app: Flask, user: User,
                                                      logged_in: FlaskClient,
                                                      seeded: dict[str, int]) -> None:
    from calsync.db import get_db
    from calsync.services import prompts

    post(logged_in, f"/prompts/{seeded['Northwind discovery call']}/answer",
         _next_step(days=1, summary="Call about the pilot"))
    with app.app_context(), get_db().session() as session:  # two days on: its time passed
        prompts.create_due_prompts(session, app.extensions["calsync.settings"],
                                   datetime.now(UTC) + timedelta(days=2), user_id=user.id)
    html = logged_in.get("/").get_data(as_text=True)
    assert "Call about the pilot" in html
    assert "Follow-up · Call" in html
    assert "touch 2 of a usual 5-7" in html
    assert "follow up with a call" in html  # the promised channel is kept


def _version(html: str, prompt_id: int) -> str:
    """The prompt's version the page carries in its answer form."""
    found = re.search(rf'id="p{prompt_id}-version" name="version" type="hidden" value="([^"]*)"',
                      html)
    assert found, "the answer form carries the version it showed"
    return found.group(1)


def test_a_next_step_in_the_past_is_refused_and_every_field_kept(
        app: Flask, logged_in: FlaskClient, seeded: dict[str, int]) -> None:
    prompt_id = seeded["Contoso demo"]
    data = _next_step(days=-1, note="Liked the pilot idea")
    response = post(logged_in, f"/prompts/{prompt_id}/answer", data)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "That time has already passed: pick one in the future." in html
    assert f'value="{data["date"]}"' in html and 'value="Send the proposal"' in html
    assert "Liked the pilot idea</textarea>" in html
    assert load(app, Prompt, prompt_id).status == "pending"
    far = _next_step(days=3 * 365)
    assert "more than two years ahead" in post(
        logged_in, f"/prompts/{prompt_id}/answer", far).get_data(as_text=True)


def test_snooze_and_not_a_sales_meeting_keep_the_note(app: Flask, logged_in: FlaskClient,
                                                      seeded: dict[str, int]) -> None:
    contoso, northwind = seeded["Contoso demo"], seeded["Northwind discovery call"]
    # The snooze and dismiss buttons post the whole answer form.
    post(logged_in, f"/prompts/{contoso}/snooze",
         {**_next_step(note="Ask for the budget owner"), "until": "hour"})
    post(logged_in, f"/prompts/{northwind}/dismiss", {"note": "Only the reseller"})
    assert load(app, Prompt, contoso).note == "Ask for the budget owner"
    assert load(app, Prompt, northwind).note == "Only the reseller"
    page = logged_in.get(f"/prompts/{contoso}").get_data(as_text=True)
    assert "Ask for the budget owner</textarea>" in page  # shown again when it comes back


def test_a_refused_reschedule_keeps_every_field(app: Flask, logged_in: FlaskClient,
                                                seeded: dict[str, int]) -> None:
    prompt_id = seeded["Northwind discovery call"]
    day = (datetime.now(ZoneInfo("Europe/Berlin")) + timedelta(days=2)).date().isoformat()
    response = post(logged_in, f"/prompts/{prompt_id}/didnt-happen", {
        **_next_step(note="They were ill"), "action": "reschedule", "reschedule_date": day,
        "reschedule_duration": "45"})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "To reschedule, give both a date and a time." in html
    assert "<details open>" in html and f'id="p{prompt_id}-rdate"' in html
    assert f'value="{day}"' in html and 'value="45"' in html
    assert "They were ill</textarea>" in html and 'value="Send the proposal"' in html
    past = post(logged_in, f"/prompts/{prompt_id}/didnt-happen", {
        "action": "reschedule", "reschedule_date": "2020-01-06", "reschedule_time": "10:00",
        "note": "They were ill"})
    assert past.status_code == 422 and "already passed" in past.get_data(as_text=True)
    assert load(app, Prompt, prompt_id).status == "pending"
    post(logged_in, f"/prompts/{prompt_id}/didnt-happen", {"action": "skip",
                                                           "note": "They were ill"})
    assert load(app, Prompt, prompt_id).note == "They were ill"


def test_an_answer_from_a_stale_page_asks_before_replacing(app: Flask, logged_in: FlaskClient,
                                                           seeded: dict[str, int]) -> None:
    prompt_id = seeded["Contoso demo"]
    stale = _version(logged_in.get("/").get_data(as_text=True), prompt_id)
    # Another tab answers first.
    post(logged_in, f"/prompts/{prompt_id}/answer", {"outcome": "yes", "version": stale})
    response = post(logged_in, f"/prompts/{prompt_id}/answer",
                    {"outcome": "no", "note": "Went with a rival", "version": stale})
    assert response.status_code == 409
    html = response.get_data(as_text=True)
    assert "Already answered: Yes — won / agreed at " in html and "change it?" in html
    assert "Went with a rival</textarea>" in html
    assert load(app, Prompt, prompt_id).outcome == "yes"
    # Sending it again from that page changes it: the page now carries what it showed.
    again = post(logged_in, f"/prompts/{prompt_id}/answer",
                 {"outcome": "no", "version": _version(html, prompt_id)})
    assert again.status_code == 302
    assert load(app, Prompt, prompt_id).outcome == "no"
    # The prompt page's "change the answer" knowingly replaces.
    page = logged_in.get(f"/prompts/{prompt_id}").get_data(as_text=True)
    changed = post(logged_in, f"/prompts/{prompt_id}/answer",
                   {"outcome": "yes", "version": _version(page, prompt_id), "return_to": "prompt"})
    assert changed.status_code == 302 and load(app, Prompt, prompt_id).outcome == "yes"


# --- the compact inbox: search, several at once, where the keyboard carries on ----------


def _named(app: Flask, user: User, title: str, *people: tuple[str, str]) -> int:
    """A prompted meeting with named attendees (name, email); its prompt id."""
    from calsync.db import get_db
    from calsync.models import Meeting, Source
    from calsync.services import prompts

    now = datetime.now(UTC)
    with app.app_context(), get_db().session() as session:
        source = Source(user_id=user.id, kind="ics", name="Named", url="", upload=b"",
                        options={}, cursor={}, warnings=[], status="ok",
                        next_sync_at=now + timedelta(days=1))
        session.add(source)
        session.flush()
        session.add(Meeting(
            user_id=user.id, source_id=source.id, uid=f"named-{title}", recurrence_id="",
            series_uid="", title=title, start=now - timedelta(hours=3),
            end=now - timedelta(hours=2), organizer=user.email,
            attendees=[{"email": user.email, "name": "", "response": "accepted"}] + [
                {"email": email, "name": name, "response": "accepted"}
                for name, email in people]))
        session.commit()
        prompts.create_due_prompts(session, app.extensions["calsync.settings"], now,
                                   user_id=user.id)
        return session.scalar(select(Prompt.id).join(Meeting, Meeting.id == Prompt.meeting_id)
                              .where(Meeting.title == title))


def _rows(html: str) -> list[str]:
    """The titles of the inbox's rows, top to bottom."""
    return re.findall(r'<span class="title" id="p\d+-title">([^<]*)</span>', html)


def test_the_title_counts_the_waiting_prompts(logged_in: FlaskClient,
                                              seeded: dict[str, int]) -> None:
    html = logged_in.get("/").get_data(as_text=True)
    assert "<title>(2) Inbox · calsync</title>" in html
    assert _rows(html) == ["Contoso demo", "Northwind discovery call"]


def test_search_finds_title_attendee_and_deal_and_counts_the_matches(
        app: Flask, user: User, logged_in: FlaskClient, seeded: dict[str, int]) -> None:
    quarterly = _named(app, user, "Quarterly review", ("Zoë Ångström", "zoe@tailspin.example"))
    _named(app, user, "50% off pilot_plan", ("Bo Li", "bo@woodgrove.example"))

    def search(q: str) -> tuple[list[str], str]:
        html = logged_in.get("/", query_string={"q": q}).get_data(as_text=True)
        return _rows(html), html

    assert search("contoso DEMO")[0] == ["Contoso demo"]  # every word, any case
    assert search("lena@contoso")[0] == ["Contoso demo"]  # an attendee's email
    assert search("zoë ångström")[0] == ["Quarterly review"]  # a name, JSON-escaped
    deal_id = load(app, Prompt, quarterly).deal_id
    post(logged_in, f"/deals/{deal_id}/rename", {"name": "Big Fish Account"})
    assert search("big fish")[0] == ["Quarterly review"]  # the deal's name
    assert search("50%")[0] == ["50% off pilot_plan"]  # % and _ are themselves
    assert search("t_ilspin")[0] == []
    assert search("pilot_plan")[0] == ["50% off pilot_plan"]
    rows, html = search("northwind")
    assert rows == ["Northwind discovery call"]
    # The title and the total count every waiting prompt; the page says how many match.
    assert "<title>(4) Inbox · calsync</title>" in html
    assert "1 matching “northwind” of 4 waiting" in html
    assert 'name="q" value="northwind"' in html  # answers return to the search
    rows, html = search("nobody-like-this")
    assert rows == [] and "Nothing waiting matches “nobody-like-this”" in html


def test_an_answer_returns_to_the_next_row_and_the_search(logged_in: FlaskClient,
                                                          seeded: dict[str, int]) -> None:
    html = logged_in.get("/").get_data(as_text=True)
    contoso, northwind = seeded["Contoso demo"], seeded["Northwind discovery call"]
    # Each row's form names the row after it (the last row, the one before it).
    form = html.split(f'id="p{contoso}-form"', 1)[1].split("</form>", 1)[0]
    assert f'name="next_prompt" value="{northwind}"' in form
    response = post(logged_in, f"/prompts/{contoso}/answer",
                    {"outcome": "yes", "next_prompt": str(northwind), "q": "demo"})
    assert response.status_code == 302
    assert response.headers["Location"] == f"/?q=demo#prompt-{northwind}"
    response = post(logged_in, f"/prompts/{northwind}/snooze",
                    {"until": "tomorrow", "next_prompt": "x"})
    assert response.headers["Location"] == "/"  # nothing sensible to focus: the top


def test_several_prompts_snoozed_or_dismissed_at_once(app: Flask, user: User, make_user,  # type: ignore[no-untyped-def]
                                                      logged_in: FlaskClient,
                                                      seeded: dict[str, int]) -> None:
    third = _named(app, user, "Fabrikam intro", ("Kai", "kai@fabrikam.example"))
    stranger = make_user("eve@elsewhere.example")
    theirs = seed_meetings(app, stranger, Seed("Their meeting"))["Their meeting"]
    ids = [seeded["Contoso demo"], seeded["Northwind discovery call"]]
    response = post(logged_in, "/inbox/bulk",
                    {"action": "next_week", "prompt_ids": [*map(str, ids), str(theirs)],
                     "q": "call"}, follow_redirects=True)
    html = response.get_data(as_text=True)
    assert "Snoozed 2 prompts until" in html  # someone else's prompt is left alone
    for prompt_id in ids:
        prompt = load(app, Prompt, prompt_id)
        assert prompt.status == "snoozed"
        assert prompt.snoozed_until > datetime.now(UTC) + timedelta(days=6)
    assert load(app, Prompt, theirs).status == "pending"
    assert response.request.args.get("q") == "call"

    html = post(logged_in, "/inbox/bulk", {"action": "dismiss", "prompt_ids": [str(third)]},
                follow_redirects=True).get_data(as_text=True)
    assert "1 prompt marked not a sales meeting: no touch counted." in html
    prompt = load(app, Prompt, third)
    assert (prompt.status, prompt.dismiss_reason) == ("dismissed", "not_sales")
    # Put away already: a second time changes nothing, and says so.
    html = post(logged_in, "/inbox/bulk", {"action": "dismiss", "prompt_ids": [str(third)]},
                follow_redirects=True).get_data(as_text=True)
    assert "0 prompts marked" in html


def test_bulk_without_a_selection_or_an_action_says_what_is_missing(
        logged_in: FlaskClient, seeded: dict[str, int]) -> None:
    html = post(logged_in, "/inbox/bulk", {"action": "tomorrow"},
                follow_redirects=True).get_data(as_text=True)
    assert "Pick at least one prompt." in html
    html = post(logged_in, "/inbox/bulk",
                {"action": "forever", "prompt_ids": [str(seeded["Contoso demo"])]},
                follow_redirects=True).get_data(as_text=True)
    assert "Choose what to do with them." in html
    assert load_status(logged_in, seeded) == {"pending"}


def load_status(client: FlaskClient, seeded: dict[str, int]) -> set[str]:
    """The statuses of the seeded prompts, as the inbox shows them: all there is pending."""
    html = client.get("/").get_data(as_text=True)
    return {"pending"} if set(_rows(html)) == set(seeded) else {"changed"}


def test_a_changed_channel_is_pointed_out_against_the_promised_one(
        app: Flask, logged_in: FlaskClient, seeded: dict[str, int]) -> None:
    contoso = seeded["Contoso demo"]
    post(logged_in, f"/prompts/{contoso}/answer", _next_step(channel="call"))
    [followup] = query(app, select(FollowUp))
    # The follow-up's own prompt: the call promised is remembered beside the channel.
    from calsync.db import get_db
    from calsync.services import prompts

    with app.app_context(), get_db().session() as session:
        row = session.get(FollowUp, followup.id)
        assert row is not None
        row.start -= timedelta(days=10)
        row.end -= timedelta(days=10)
        session.commit()
        prompts.create_due_prompts(session, app.extensions["calsync.settings"],
                                   datetime.now(UTC), user_id=row.user_id)
    html = logged_in.get("/").get_data(as_text=True)
    assert 'data-promised="call"' in html
    assert "Last time you said you would follow up with a call." in html
    assert "change the channel only if you told them" in html  # for calsync.js
