"""/dashboard: the figures of a known history in the tables beside server-drawn charts."""

from __future__ import annotations

import re

from flask import Flask
from flask.testing import FlaskClient

from calsync.models import User
from calsync.web.pages.dashboard import week_label
from tests.conftest import login
from tests.dashboard_history import seed_history, weeks_for


def fetch_page(client: FlaskClient, path: str) -> str:
    response = client.get(path)
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def _section(html: str, key: str) -> str:
    return html.split(f'id="{key}"', 1)[1].split("</section>", 1)[0]


def _row(section: str, label: str) -> list[str]:
    """The cells of the table row headed `label`."""
    match = re.search(rf'<th scope="row">{re.escape(label)}</th>(.*?)</tr>', section, re.S)
    assert match, f"no row {label!r}"
    return re.findall(r"<td>(.*?)</td>", match.group(1))


def test_the_dashboard_shows_a_known_historys_figures(app: Flask, logged_in: FlaskClient,
                                                      user: User) -> None:
    weeks = seed_history(app, user)
    html = fetch_page(logged_in, "/dashboard")
    assert re.search(r'<dd id="median-answer">2 h\b', html)
    assert '<dd id="closed-count">2 won, 1 lost</dd>' in html
    assert '<dd id="median-touches">won 2, lost 3</dd>' in html
    assert '<dd id="open-count">2</dd>' in html

    win_rate = _section(html, "win-rate")
    assert _row(win_rate, "1") == ["100%", "1"]
    assert _row(win_rate, "2") == ["—", "0"]
    assert _row(win_rate, "3") == ["50%", "2"]
    closes = _section(html, "closes")
    assert _row(closes, "3") == ["1", "1"] and _row(closes, "1") == ["1", "0"]
    assert "median of 2 touches, lost ones at 3 touches" in closes

    last, before = week_label(weeks.last), week_label(weeks.before)
    followups = _section(html, "followups")
    assert _row(followups, last) == ["1", "1", "1"]
    assert _row(followups, before) == ["1", "0", "0"]
    answers = _section(html, "answers")
    assert _row(answers, last) == ["2 h 30 min"] and _row(answers, before) == ["1 h"]
    assert _row(_section(html, "open"), "5") == ["1"]
    assert _row(_section(html, "open"), "0") == ["1"]


def test_each_chart_is_an_accessible_svg_drawn_on_the_server(app: Flask,
                                                             logged_in: FlaskClient,
                                                             user: User) -> None:
    seed_history(app, user)
    html = fetch_page(logged_in, "/dashboard")
    charts = re.findall(r"<svg [^>]*>", html)
    assert len(charts) == 5
    for key in ("win-rate", "closes", "followups", "answers", "open"):
        svg = _section(html, key).split("<svg", 1)[1].split("</svg>", 1)[0]
        assert 'role="img"' in svg
        assert f'aria-labelledby="chart-{key}-title chart-{key}-desc"' in svg
        assert f'<title id="chart-{key}-title">' in svg and f'<desc id="chart-{key}-desc">' in svg
        assert "<table" in _section(html, key)  # its figures beside it
    # The win rate's bars: 100% at touch 1 reaches the top gridline, 50% at touch 3 half-way.
    win_rate = _section(html, "win-rate")
    assert re.search(r'<rect [^>]*y="30.0"[^>]*><title>Touch 1, Win rate: 100%</title>', win_rate)
    assert re.search(r'<rect [^>]*y="112.0"[^>]*><title>Touch 3, Win rate: 50%</title>',
                     win_rate)
    assert "<script" not in html.split("<main", 1)[1]
    assert 'style="' not in html  # the CSP allows no inline style


def test_a_new_user_sees_what_will_fill_the_dashboard(logged_in: FlaskClient) -> None:
    html = fetch_page(logged_in, "/dashboard")
    assert "No deal has closed yet." in html and "No open deals." in html
    assert '<dd id="median-answer">—' in html
    assert 'id="followups"' in html and 'id="answers"' in html  # twelve empty weeks


def test_the_dashboard_shows_only_the_signed_in_users_history(app: Flask, client: FlaskClient,
                                                              user: User,
                                                              make_user) -> None:  # type: ignore[no-untyped-def]
    seed_history(app, user)
    other = make_user("bo@initech.example")
    login(client, other.email)
    html = fetch_page(client, "/dashboard")
    assert "No deal has closed yet." in html and "No open deals." in html
    last = week_label(weeks_for(other).last)
    assert _row(_section(html, "followups"), last) == ["0", "0", "0"]


def test_the_dashboard_needs_a_sign_in_and_is_in_the_nav(app: Flask,
                                                         logged_in: FlaskClient) -> None:
    assert 'href="/dashboard"' in fetch_page(logged_in, "/")
    assert 'aria-current="page">Dashboard</a>' in fetch_page(logged_in, "/dashboard")
    response = app.test_client().get("/dashboard")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
