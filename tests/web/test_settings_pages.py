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


def test_promise_and_after_sale_settings_are_saved_and_shown(app: Flask, user: User,
                                                             logged_in: FlaskClient) -> None:
    response = post(logged_in, "/settings/cadence", _cadence(
        promise_margin_days="2", follow_through_days="3", after_sale=["check_in", "upsell"],
        check_in_days="21", revisit_days="60"), follow_redirects=True)
    assert "Saved your cadence." in response.get_data(as_text=True)
    cadence = load(app, User, user.id).cadence
    assert {k: cadence[k] for k in ("promise_margin_days", "follow_through_days", "after_sale",
                                    "check_in_days", "revisit_days")} == {
        "promise_margin_days": 2, "follow_through_days": 3, "after_sale": ["check_in", "upsell"],
        "check_in_days": 21, "revisit_days": 60}
    html = logged_in.get("/settings").get_data(as_text=True)
    assert re.search(r'id="promise_margin_days"[^>]*value="2"', html)
    assert re.search(r'value="upsell"[^>]*checked|checked[^>]*value="upsell"', html)
    refused = post(logged_in, "/settings/cadence", _cadence(follow_through_days="0"))
    assert refused.status_code == 422
    assert "Follow through 1 to 30 working days after delivering." in refused.get_data(as_text=True)


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
    # Issue 10: created, then redirected (POST-redirect-GET): the page after it shows it.
    response = post(logged_in, "/settings/tokens", {"name": "Pipeline export"},
                    follow_redirects=True)
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


def test_a_new_token_is_shown_once_after_the_redirect(app: Flask, user: User,
                                                      logged_in: FlaskClient) -> None:
    response = post(logged_in, "/settings/tokens", {"name": "CRM"})
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/settings#new-token-box")
    set_cookie = response.headers.get("Set-Cookie", "")
    html = logged_in.get("/settings").get_data(as_text=True)
    plaintext = re.search(r'id="new-token">([^<]+)<', html).group(1)  # type: ignore[union-attr]
    assert plaintext not in set_cookie  # sealed in the cookie, not readable there
    assert 'id="new-token-box"' in html and "data-focus-on-load" in html
    again = logged_in.get("/settings").get_data(as_text=True)  # a reload
    assert plaintext not in again and 'id="new-token-box"' not in again
    assert len(query(app, select(ApiToken))) == 1  # and no second token


def _sentences(html: str) -> list[str]:
    """What a refused form says: the summary's lines and the errors beside the fields."""
    summary = re.search(r'id="error-summary".*?</ul>', html, re.S).group(0)  # type: ignore[union-attr]
    return (re.findall(r'<li><a href="#\w+">([^<]+)</a></li>', summary)
            + re.findall(r'<p class="error" id="[\w-]+">([^<]+)</p>', html))


def test_every_cadence_problem_at_once_in_words(app: Flask, user: User,
                                                logged_in: FlaskClient) -> None:
    response = post(logged_in, "/settings/cadence", _cadence(
        gaps_days="5, 3", usual_low="8", usual_hour="30", working_days=[]))
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    summary = html[html.index('id="error-summary"'):html.index("</ul>")]
    for words, field in (("never shrink: 5 days, then 3", "gaps_days"),
                         ("“From” (8) is more than “to” (7)", "usual_low"),
                         ("Pick an hour from 0 to 23.", "usual_hour"),
                         ("Tick at least one working day.", "working_days")):
        assert f'<a href="#{field}">{words}' in summary.replace("Gaps between touches grow or "
                                                                  "stay the same, ", "")
        assert f'id="{field}-error"' in html  # and beside its field
    assert 'aria-describedby="usual_hour-error" aria-invalid="true"' in html
    assert len(_sentences(html)) == 8  # four in the summary, four beside their fields
    assert load(app, User, user.id).cadence is None


def test_the_cadence_sentences_never_name_a_setting(app: Flask, user: User,
                                                    logged_in: FlaskClient) -> None:
    cases = [_cadence(gaps_days="3, 400"), _cadence(gaps_days="1", min_gap_days="2"),
             _cadence(suggest_close_after="2"), _cadence(default_duration_minutes="0"),
             _cadence(usual_low="9", usual_high="7", suggest_close_after="2"),
             _cadence(working_days=[])]
    for form in cases:
        response = post(logged_in, "/settings/cadence", form)
        assert response.status_code == 422
        sentences = _sentences(response.get_data(as_text=True))
        assert sentences, form
        for sentence in sentences:
            for code in ("gaps_days", "min_gap", "usual_touches", "frozenset", "must be",
                         "got ", "_"):
                assert code not in sentence, (form, sentence)


def test_the_time_zone_picker_is_grouped_without_aliases(app: Flask, user: User,
                                                         logged_in: FlaskClient) -> None:
    html = logged_in.get("/settings").get_data(as_text=True)
    picker = html[html.index('<select name="timezone"'):]
    picker = picker[:picker.index("</select>")]
    assert '<optgroup label="Europe">' in picker and '<optgroup label="Americas">' in picker
    assert 'value="Europe/Berlin"' in picker and ">Berlin — Germany<" in picker
    assert 'value="Europe/Amsterdam"' in picker  # a country's own zone stays
    for alias in ("US/Eastern", "Asia/Calcutta", "Etc/GMT+5", "Europe/Kiev"):
        assert f'value="{alias}"' not in picker
    assert 'value="Asia/Kolkata" data-also="Asia/Calcutta"' in picker  # what browsers report
    assert 'data-filter-options="timezone" hidden' in html  # the search box needs the script


def test_a_saved_alias_shows_as_its_zone(app: Flask, user: User,
                                         logged_in: FlaskClient) -> None:
    post(logged_in, "/settings/timezone", {"timezone": "US/Eastern"})  # the API still takes it
    html = logged_in.get("/settings").get_data(as_text=True)
    assert '<option value="America/New_York" data-also="' in html
    assert re.search(r'value="America/New_York"[^>]* selected>', html)


def test_a_refused_form_lands_on_a_summary(app: Flask, user: User,
                                           logged_in: FlaskClient) -> None:
    response = post(logged_in, "/settings/rules", {"internal_domains": "not a domain",
                                                   "skip_keywords": "x" * 101})
    html = response.get_data(as_text=True)
    summary = html[html.index('id="error-summary"'):html.index("</ul>")]
    assert '<a href="#internal_domains">Not a domain: not a domain.' in summary
    assert '<a href="#skip_keywords">Keep it to 100 keywords' in summary
    assert "a few things need fixing" in summary
    assert html.index('id="error-summary"') < html.index('id="feed"')  # at the top
