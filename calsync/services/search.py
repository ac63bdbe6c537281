"""Finding things by the words typed in a search box, alike on SQLite and PostgreSQL: every
word must appear somewhere, in any case, and % or _ typed mean themselves.

Meetings are found through their `search_text` (title and attendees, case-folded when
stored: see `calsync.domain.meeting.search_text`); names and titles typed by people (deals,
follow-ups) through ILIKE, which SQLite folds for ASCII letters only, so a word with other
letters is also tried lower case, capitalised and in capitals.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, or_
from sqlalchemy.sql.elements import SQLColumnExpression

from calsync.models import Meeting

# A search's words beyond these are ignored: each is a few LIKEs over the user's rows.
MAX_WORDS = 8
# Marks a search's % and _ as themselves in a LIKE pattern.
ESCAPE = "!"


def words(search: str) -> list[str]:
    """The words of a search, as typed, up to MAX_WORDS."""
    return search.split()[:MAX_WORDS]


def pattern(text: str, *, anywhere: bool = True) -> str:
    """A LIKE pattern finding `text` anywhere (or at the start), its wildcards literal."""
    for special in (ESCAPE, "%", "_"):
        text = text.replace(special, ESCAPE + special)
    return f"%{text}%" if anywhere else f"{text}%"


def meeting_has(word: str) -> ColumnElement[bool]:
    """The meeting's title or one of its attendees (name or email) holds `word`."""
    return Meeting.search_text.like(pattern(word.casefold()), escape=ESCAPE)


def text_has(column: SQLColumnExpression[str], word: str, *,
             anywhere: bool = True) -> ColumnElement[bool]:
    """`column` (a name or title as typed) holds `word` (or starts with it), in any case."""
    spellings = [word] if word.isascii() else list(dict.fromkeys(
        (word, word.lower(), word.capitalize(), word.upper())))
    return or_(*(column.ilike(pattern(spelling, anywhere=anywhere), escape=ESCAPE)
                 for spelling in spellings))
