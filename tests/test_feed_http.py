"""The feed URL revalidates cheaply: 304 by ETag and by date; any change, a deletion too,
moves both validators; a rotated or unknown token finds nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient

from calsync.db import get_db
from calsync.feed import cache
from calsync.models import FollowUp, User
from calsync.services import accounts
from tests.feed_rows import northwind_feed


@pytest.fixture
def feed_path(app: Flask, user: User) -> str:
    return northwind_feed(app, user, [datetime.now(UTC).replace(microsecond=0)
                                      + timedelta(days=2)])


def change(app: Flask, **values: object) -> None:
    with app.app_context(), get_db().session() as session:
        followup = session.get(FollowUp, 1)
        for name, value in values.items():
            setattr(followup, name, value)
        followup.sequence += 1
        followup.changed_at = datetime.now(UTC)
        session.commit()


def test_conditional_requests_get_304(client: FlaskClient, feed_path: str) -> None:
    first = client.get(feed_path)
    assert first.status_code == 200
    assert first.headers["ETag"].startswith('"') and first.headers["Last-Modified"]
    assert first.headers["Cache-Control"].startswith("private")
    by_tag = client.get(feed_path, headers={"If-None-Match": first.headers["ETag"]})
    assert by_tag.status_code == 304 and by_tag.data == b""
    by_date = client.get(feed_path, headers={"If-Modified-Since": first.headers["Last-Modified"]})
    assert by_date.status_code == 304
    assert client.get(feed_path).data == first.data  # same data, same bytes


def test_a_change_moves_both_validators(app: Flask, client: FlaskClient, feed_path: str) -> None:
    first = client.get(feed_path)
    change(app, summary="Send the revised pricing")
    second = client.get(feed_path, headers={"If-None-Match": first.headers["ETag"],
                                            "If-Modified-Since": first.headers["Last-Modified"]})
    assert second.status_code == 200
    assert b"revised pricing" in second.data
    assert second.headers["ETag"] != first.headers["ETag"]
    assert second.headers["Last-Modified"] != first.headers["Last-Modified"]
    apple = client.get(feed_path, headers={"If-Modified-Since": first.headers["Last-Modified"]})
    assert apple.status_code == 200  # date-only revalidation sees the change too


def test_an_expired_cancellation_drops_and_still_moves_the_validators(
        app: Flask, client: FlaskClient, feed_path: str) -> None:
    long_ago = datetime.now(UTC) - timedelta(days=31)
    change(app, status="cancelled", cancelled_at=long_ago)
    with app.app_context(), get_db().session() as session:
        user = session.get(User, 1)
        kept = cache.current_feed(session, app.extensions["calsync.settings"], user,
                                      now=long_ago + timedelta(days=1))
        assert b"STATUS:CANCELLED" in kept.body
        etag, modified = kept.etag, kept.last_modified
    now = client.get(feed_path)
    assert b"BEGIN:VEVENT" not in now.data  # dropped after 30 days
    assert now.headers["ETag"] != etag
    assert now.headers["Last-Modified"] != modified.strftime("%a, %d %b %Y %H:%M:%S GMT")


def test_rotation_and_unknown_tokens(app: Flask, client: FlaskClient, feed_path: str) -> None:
    with app.app_context(), get_db().session() as session:
        new_token = accounts.rotate_feed_token(session, session.get(User, 1))
        session.commit()
    gone = client.get(feed_path)
    assert gone.status_code == 404 and b"rotated" in gone.data
    assert client.get(f"/feed/{new_token}.ics").status_code == 200
    assert client.get("/feed/" + "x" * 200 + ".ics").status_code == 404
