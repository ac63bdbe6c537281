"""The outbox's table of effects: every kind calsync records has a handler, and an entry
of a kind the table does not know is kept and retried, never lost."""

from __future__ import annotations

import inspect

import pytest
from sqlalchemy.orm import Session

from calsync.jobs import effects, outbox, writeback
from calsync.models import User
from calsync.services.google import channels


def test_every_kind_names_a_handler_of_the_outbox_signature() -> None:
    for kind in effects.HANDLERS:
        handler = effects.handler_for(kind)
        assert list(inspect.signature(handler).parameters) == ["session", "settings", "entry"]


def test_the_kinds_calsync_records_are_in_the_table() -> None:
    assert {writeback.WRITE, channels.STOP} <= set(effects.HANDLERS)


def test_an_unknown_kind_is_a_clear_error_naming_the_known_ones() -> None:
    with pytest.raises(LookupError, match=r"'send_fax'.*stop_channel, write_followup"):
        effects.handler_for("send_fax")


def test_an_entry_of_an_unknown_kind_waits_to_be_retried(db_session: Session,
                                                          user: User) -> None:
    entry = outbox.record(db_session, user_id=user.id, kind="send_fax")
    db_session.commit()  # the test app's queue runs the entry at once
    db_session.refresh(entry)
    assert (entry.status, entry.attempts) == ("pending", 1)
    assert entry.last_error == "calsync hit an internal error; it will try again."
