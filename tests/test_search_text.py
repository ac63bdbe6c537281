"""What a search box finds a meeting by: its title and attendees, case-folded when stored
(by sync, by any insert, and by migration 0010 for meetings stored before it)."""

from __future__ import annotations

import json

import sqlalchemy as sa

from calsync import migrate
from calsync.domain.meeting import search_text

PEOPLE = [{"email": "Joao@Northwind.example", "name": "João Ünal", "response": "accepted"},
          {"email": "cfo@northwind.example", "name": "", "response": "declined"}]


def test_the_text_is_title_names_and_emails_folded_without_the_json() -> None:
    text = search_text("Straße Review", PEOPLE)
    assert text == "strasse review\njoão ünal joao@northwind.example\ncfo@northwind.example"
    assert "accepted" not in text and "email" not in text
    assert search_text("", []) == ""


def test_migration_0010_fills_the_text_of_meetings_stored_before_it(
        empty_database_url: str) -> None:
    migrate.upgrade(empty_database_url, "0009")
    engine = sa.create_engine(empty_database_url)
    try:
        with engine.begin() as connection:
            connection.execute(sa.text(
                "INSERT INTO users (id, email, timezone, internal_domains, feed_token,"
                " created_at) VALUES (1, 'ann@seller.example', 'UTC', '[]', 'feed',"
                " CURRENT_TIMESTAMP)"))
            for meeting_id, title in ((1, "Pilot REVIEW"), (2, "")):
                connection.execute(sa.text(
                    "INSERT INTO meetings (id, user_id, uid, recurrence_id, series_uid, title,"
                    " start, \"end\", all_day, status, attendees, attendee_count, organizer,"
                    " location, description, conference_url, content_hash, updated_at)"
                    " VALUES (:id, 1, :uid, '', '', :title, CURRENT_TIMESTAMP,"
                    " CURRENT_TIMESTAMP, false, 'confirmed', :people, 2, '', '', '', '', '',"
                    " CURRENT_TIMESTAMP)"),
                    {"id": meeting_id, "uid": f"m{meeting_id}", "title": title,
                     "people": json.dumps(PEOPLE)})
        migrate.upgrade(empty_database_url, "0010")
        with engine.connect() as connection:
            texts = dict(connection.execute(sa.text("SELECT id, search_text FROM meetings")).all())
    finally:
        engine.dispose()
    assert texts == {1: search_text("Pilot REVIEW", PEOPLE), 2: search_text("", PEOPLE)}
    assert texts[1].startswith("pilot review\njoão ünal")
