"""Deals: the list with its flags and filter, one deal's timeline, renaming."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from calsync.domain.vocabulary import DealStatus
from calsync.models import Deal, Prompt, User
from tests.test_deals_list import NOW, Spec, make_deals
from tests.web.conftest import Seed, load, post, seed_meetings


def _day(moment: datetime) -> str:
    """A day as the pages show it in the test user's zone: "Tue 24 Nov"."""
    local = moment.astimezone(ZoneInfo("Europe/Berlin"))
    text = f"{local:%a} {local.day} {local:%b}"
    return text if local.year == datetime.now(local.tzinfo).year else f"{text} {local.year}"


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


# --- sorted, searched, since; the picker ----------------------------------------------------


def _rows(html: str) -> list[str]:
    """The deals' names in the order the list shows them."""
    return re.findall(r'<th scope="row" class="deal-name"><a href="/deals/\d+">([^<]+)</a>', html)


@pytest.fixture
def pipeline(app: Flask, user: User, db_session: Session) -> dict[str, int]:
    return make_deals(
        db_session, db_session.get(User, user.id),
        Spec("Alpha", touches=(20, 9), next_in=-2, title="Alpha kickoff"),
        Spec("Bravo", touches=(3,), next_in=5,
             attendees=(("kim@bravo.example", "Kim Lee"),)),
        Spec("Charlie", touches=(30, 15, 1), next_in=1),
        Spec("Delta", touches=(40,), status=DealStatus.WON),
    )


def test_the_list_sorts_by_next_follow_up_with_the_overdue_highlighted(
        logged_in: FlaskClient, pipeline: dict[str, int]) -> None:
    html = logged_in.get("/deals").get_data(as_text=True)
    assert _rows(html) == ["Alpha", "Charlie", "Bravo", "Delta"]
    assert f'<tr class="deal-row overdue" id="deal-{pipeline["Alpha"]}">' in html
    row = html.split(f'id="deal-{pipeline["Alpha"]}"')[1].split("</tr>")[0]
    assert '<span class="badge overdue">overdue</span>' in row
    assert html.count("badge overdue") == 1
    assert '<option value="next" selected>Next follow-up</option>' in html
    for sort, order in (("last_touch", ["Charlie", "Bravo", "Alpha", "Delta"]),
                        ("touches", ["Charlie", "Alpha", "Delta", "Bravo"]),
                        ("status", ["Alpha", "Charlie", "Bravo", "Delta"]),
                        ("nonsense", ["Alpha", "Charlie", "Bravo", "Delta"])):
        assert _rows(logged_in.get(f"/deals?sort={sort}").get_data(as_text=True)) == order


def test_the_list_shows_since_and_the_last_touch(logged_in: FlaskClient,
                                                 pipeline: dict[str, int]) -> None:
    html = logged_in.get("/deals").get_data(as_text=True)
    row = html.split(f'id="deal-{pipeline["Charlie"]}"')[1].split("</tr>")[0]
    first, last = (NOW - timedelta(days=30)), (NOW - timedelta(days=1))
    assert f'<td data-label="Since">{_day(first)}</td>' in row
    assert f'<td data-label="Last touch">{_day(last)}</td>' in row
    page = logged_in.get(f"/deals/{pipeline['Charlie']}").get_data(as_text=True)
    assert "(the first touch)" in page and _day(first) in page


def test_the_list_searches_with_the_status_and_the_order_kept(
        logged_in: FlaskClient, pipeline: dict[str, int]) -> None:
    html = logged_in.get("/deals?q=kim+lee").get_data(as_text=True)
    assert _rows(html) == ["Bravo"]
    assert "1 deal matches “kim lee”" in html
    assert 'value="kim lee"' in html  # the box keeps the search
    assert _rows(logged_in.get("/deals?q=kickoff").get_data(as_text=True)) == ["Alpha"]
    assert _rows(logged_in.get("/deals?q=a&sort=touches").get_data(as_text=True)) == [
        "Charlie", "Alpha", "Delta", "Bravo"]
    html = logged_in.get("/deals?q=delta&status=open").get_data(as_text=True)
    assert _rows(html) == [] and "No open deals match “delta”" in html
    # The status tabs keep the search and the order.
    assert 'href="/deals?status=won&amp;q=delta&amp;sort=next"' in html


def test_the_deal_page_renames_in_plain_sight(app: Flask, logged_in: FlaskClient,
                                              pipeline: dict[str, int]) -> None:
    page = logged_in.get(f"/deals/{pipeline['Bravo']}").get_data(as_text=True)
    assert '<label for="deal-name">Deal name</label>' in page
    assert "With bravo.example" in page  # the domain it groups by, beside its name
    post(logged_in, f"/deals/{pipeline['Bravo']}/rename", {"name": "Bravo Holdings"})
    assert load(app, Deal, pipeline["Bravo"]).name == "Bravo Holdings"


def test_the_picker_searches_without_script_and_moves(app: Flask, logged_in: FlaskClient,
                                                      seeded: dict[str, int]) -> None:
    prompt_id = seeded["Contoso demo"]
    northwind = load(app, Prompt, seeded["Northwind discovery call"]).deal_id
    page = logged_in.get(f"/prompts/{prompt_id}").get_data(as_text=True)
    picker = page.split('id="move"')[1]
    assert f'<input type="radio" name="deal_id" value="{northwind}">' in picker
    assert "Now in <a" in picker and "Contoso</a>" in picker
    # The prompt's own deal is not offered; a search narrows; none found offers a new deal.
    own = load(app, Prompt, prompt_id).deal_id
    assert f'value="{own}"' not in picker
    found = logged_in.get(f"/prompts/{prompt_id}?deal_q=NORTH").get_data(as_text=True)
    assert f'name="deal_id" value="{northwind}"' in found and 'value="NORTH"' in found
    missing = logged_in.get(f"/prompts/{prompt_id}?deal_q=Fabrikam").get_data(as_text=True)
    picker = missing.split('id="move"')[1]
    assert "No other deal is named like “Fabrikam”." in picker
    assert 'id="move-new-choice" checked' in picker and 'value="Fabrikam"' in picker
    # Picking a found deal moves the touch there.
    post(logged_in, f"/prompts/{prompt_id}/move", {"deal_id": str(northwind), "new_deal": ""})
    assert load(app, Prompt, prompt_id).deal_id == northwind


def test_the_pickers_json_search_lists_only_the_users_deals(
        app: Flask, logged_in: FlaskClient, seeded: dict[str, int], make_user) -> None:  # type: ignore[no-untyped-def]
    other = make_user("eve@rival.example")
    seed_meetings(app, other, Seed("Rival call", attendees=("cfo@northwind-rival.example",)))
    northwind = load(app, Prompt, seeded["Northwind discovery call"]).deal_id
    contoso = load(app, Prompt, seeded["Contoso demo"]).deal_id
    body = logged_in.get("/deals/search?q=north").get_json()
    assert body == {"deals": [{"id": northwind, "name": "Northwind", "status": "open",
                               "counterpart": "northwind.example"}]}
    everything = logged_in.get(f"/deals/search?leave_out={contoso}").get_json()["deals"]
    assert [d["id"] for d in everything] == [northwind]
    huge = logged_in.get(f"/deals/search?leave_out={10**30}")
    assert huge.status_code == 200 and len(huge.get_json()["deals"]) == 2
    # Nor through the page without script.
    page = logged_in.get(f"/prompts/{seeded['Contoso demo']}?deal_q=rival").get_data(as_text=True)
    assert "No other deal is named like “rival”." in page
    assert logged_in.get("/deals?q=rival").get_data(as_text=True).count("deal-row") == 0
