"""Deals: the list with its flags and filter, one deal's timeline, renaming."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from flask import Flask
from flask.testing import FlaskClient

from calsync.models import Deal, Prompt
from tests.web.conftest import load, post


def _answer(client: FlaskClient, prompt_id: int, **data: str) -> None:
    response = post(client, f"/prompts/{prompt_id}/answer", data)
    assert response.status_code == 302, response.get_data(as_text=True)


def test_deals_list_flags_open_deals_without_a_next_touch(app: Flask, logged_in: FlaskClient,
                                                          seeded: dict[str, int]) -> None:
    day = (datetime.now(ZoneInfo("Europe/Berlin")) + timedelta(days=4)).date().isoformat()
    _answer(logged_in, seeded["Contoso demo"], outcome="next_step", summary="Pricing call",
            date=day, time="11:00", duration="30", channel="call")
    _answer(logged_in, seeded["Northwind discovery call"], outcome="yes")
    contoso = load(app, Prompt, seeded["Contoso demo"]).deal_id
    html = logged_in.get("/deals").get_data(as_text=True)
    row = html.split(f'id="deal-{contoso}"')[1].split("</tr>")[0]
    assert "Pricing call" in row and "no next touch planned" not in row
    # A no drops the plan; planning again takes the flag away.
    _answer(logged_in, seeded["Contoso demo"], outcome="no", no_reason="no_budget")
    _answer(logged_in, seeded["Contoso demo"], outcome="next_step", summary="Pricing call",
            date=day, time="11:00", duration="30", channel="call")
    assert "no next touch planned" not in logged_in.get("/deals?status=open").get_data(
        as_text=True)


def test_new_deals_are_flagged_and_filtered_by_status(app: Flask, logged_in: FlaskClient,
                                                      seeded: dict[str, int]) -> None:
    html = logged_in.get("/deals").get_data(as_text=True)
    assert html.count("no next touch planned") == 2
    _answer(logged_in, seeded["Northwind discovery call"], outcome="yes")
    won = logged_in.get("/deals?status=won").get_data(as_text=True)
    assert "northwind.example" in won and "contoso.example" not in won
    open_ = logged_in.get("/deals?status=open").get_data(as_text=True)
    assert "contoso.example" in open_ and "northwind.example</a>" not in open_
    assert "No lost deals" in logged_in.get("/deals?status=lost").get_data(as_text=True)


def test_deal_page_shows_the_timeline(app: Flask, logged_in: FlaskClient,
                                      seeded: dict[str, int]) -> None:
    prompt_id = seeded["Contoso demo"]
    day = (datetime.now(ZoneInfo("Europe/Berlin")) + timedelta(days=3)).date().isoformat()
    _answer(logged_in, prompt_id, outcome="next_step", summary="Send the pilot contract",
            date=day, time="09:15", duration="30", channel="email", note="Budget is approved")
    deal_id = load(app, Prompt, prompt_id).deal_id
    html = logged_in.get(f"/deals/{deal_id}").get_data(as_text=True)
    assert "Contoso demo" in html  # the meeting
    assert "lena@contoso.example" in html  # its attendees
    assert "Budget is approved" in html  # the note
    assert "Send the pilot contract" in html and "09:15" in html  # the follow-up
    # The follow-up's own badge; a bare "planned" would also match "no next touch planned".
    assert '<span class="badge planned">planned</span>' in html
    assert "no next touch planned" not in html
    assert "touch 1 of a usual 5-7" in html


def test_rename_a_deal(app: Flask, logged_in: FlaskClient, seeded: dict[str, int]) -> None:
    deal_id = load(app, Prompt, seeded["Contoso demo"]).deal_id
    response = post(logged_in, f"/deals/{deal_id}/rename", {"name": "Contoso <Group>"},
                    follow_redirects=True)
    assert "Contoso &lt;Group&gt;" in response.get_data(as_text=True)
    assert load(app, Deal, deal_id).name == "Contoso <Group>"
    response = post(logged_in, f"/deals/{deal_id}/rename", {"name": "  "}, follow_redirects=True)
    assert "Give the deal a name." in response.get_data(as_text=True)
    assert load(app, Deal, deal_id).name == "Contoso <Group>"
