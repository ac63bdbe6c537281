"""What a search box finds a meeting by: its title and attendees, case-folded when stored
(by sync, by any insert, and by migration 0010 for meetings stored before it)."""

from __future__ import annotations

import json

from calsync import migrate
from calsync.domain.meeting import search_text
from tests.migration_rows import pairs, stored_at

PEOPLE = [{"email": "Joao@Northwind.example", "name": "João Ünal", "response": "accepted"},
          {"email": "cfo@northwind.example", "name": "", "response": "declined"}]


def test_the_text_is_title_names_and_emails_folded_without_the_json() -> None:
    text = search_text("Straße Review", PEOPLE)
    assert text == "strasse review\njoão ünal joao@northwind.example\ncfo@northwind.example"
    assert "accepted" not in text and "email" not in text
    assert search_text("", []) == ""


def test_migration_0010_fills_the_text_of_meetings_stored_before_it(
        empty_database_url: str) -> None:
    stored_at(empty_database_url, "0009",
              "INSERT INTO meetings (id, user_id, uid, recurrence_id, series_uid, title,"
              " start, \"end\", all_day, status, attendees, attendee_count, organizer,"
              " location, description, conference_url, content_hash, updated_at)"
              " VALUES (:id, 1, :uid, '', '', :title, CURRENT_TIMESTAMP,"
              " CURRENT_TIMESTAMP, false, 'confirmed', :people, 2, '', '', '', '', '',"
              " CURRENT_TIMESTAMP)",
              [{"id": meeting_id, "uid": f"m{meeting_id}", "title": title,
                "people": json.dumps(PEOPLE)} for meeting_id, title in ((1, "Pilot REVIEW"),
                                                                        (2, ""))])
    migrate.upgrade(empty_database_url, "0010")
    texts = pairs(empty_database_url, "SELECT id, search_text FROM meetings")
    assert texts == {1: search_text("Pilot REVIEW", PEOPLE), 2: search_text("", PEOPLE)}
    assert texts[1].startswith("pilot review\njoão ünal")
