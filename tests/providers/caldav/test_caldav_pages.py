"""The Calendars page's CalDAV form, against real servers: a refused password is said beside
its field; an account that connects lands on its source page with its meetings read."""

from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient

from tests.conftest import csrf_from
from tests.servers.caldav_servers import CaldavServer, tomorrow_call


def post_account(client: FlaskClient, server: CaldavServer, **overrides: str) -> Any:
    token = csrf_from(client.get("/sources").get_data(as_text=True))
    form = {"url": server.base_url, "username": server.username,
            "password": server.password, "name": "", "csrf_token": token, **overrides}
    return client.post("/sources/caldav", data=form)


def test_the_page_offers_a_caldav_account(logged_in: FlaskClient) -> None:
    page = logged_in.get("/sources").get_data(as_text=True)
    assert 'action="/sources/caldav"' in page
    assert 'type="password"' in page and 'id="caldav-url"' in page


def test_a_refused_password_is_said_beside_it(logged_in: FlaskClient,
                                              caldav_server: CaldavServer) -> None:
    response = post_account(logged_in, caldav_server, password="wrong")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'id="caldav-password-error"' in page and "app-specific password" in page
    assert "wrong" not in page.split('id="caldav-password"')[1].split(">")[0]


def test_connecting_lands_on_the_source(logged_in: FlaskClient,
                                        caldav_server: CaldavServer) -> None:
    caldav_server.put("work", "w1", tomorrow_call("w1", 9))
    response = post_account(logged_in, caldav_server)
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    page = logged_in.get(response.headers["Location"]).get_data(as_text=True)
    assert "1 meeting read" in page and "Follow-ups go to" in page
    # Removing it leaves the follow-up events written there, and says so first.
    assert "already wrote to this calendar stay there" in page
    listing = logged_in.get("/sources").get_data(as_text=True)
    assert "CalDAV: " in listing


def test_the_source_page_picks_the_calendars(logged_in: FlaskClient,
                                             caldav_server: CaldavServer) -> None:
    source_page = post_account(logged_in, caldav_server).headers["Location"]
    page = logged_in.get(source_page).get_data(as_text=True)
    personal, work = caldav_server.calendars["personal"], caldav_server.calendars["work"]
    assert f'name="calendars_read" value="{personal}"' in page
    token = csrf_from(page)
    action = f"{source_page}/caldav-calendars"
    refused = logged_in.post(action, data={"csrf_token": token, "calendars_read": [work],
                                           "calendar_written": personal})
    assert refused.status_code == 422
    assert "pick a calendar calsync also reads" in refused.get_data(as_text=True)
    saved = logged_in.post(action, data={"csrf_token": token, "calendars_read": [work],
                                         "calendar_written": work})
    assert saved.status_code == 302
    page = logged_in.get(source_page).get_data(as_text=True)
    assert f'value="{work}" aria-label="Follow-ups to Work" checked' in page
    assert f'value="{personal}" aria-label="Read Personal" checked' not in page
    assert f'value="{work}" aria-label="Read Work" checked' in page


def test_the_source_page_looks_for_new_calendars_when_asked(
        logged_in: FlaskClient, caldav_server: CaldavServer) -> None:
    source_page = post_account(logged_in, caldav_server).headers["Location"]
    later = caldav_server.make_calendar("neu")
    page = logged_in.get(source_page).get_data(as_text=True)
    assert f'value="{later}"' not in page  # an ordinary view asks the server nothing
    assert 'id="calendars-fresh"' in page
    fresh = logged_in.get(f"{source_page}?calendars=fresh").get_data(as_text=True)
    assert f'name="calendars_read" value="{later}"' in fresh
    assert f'value="{later}"' in logged_in.get(source_page).get_data(as_text=True)  # kept
