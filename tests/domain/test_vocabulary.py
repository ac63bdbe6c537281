"""The vocabularies are declared once and used as declared: by the models' columns, the API's
schemas (so the OpenAPI document) and the templates, with a label wherever a person reads one."""

from __future__ import annotations

import inspect
import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update
from sqlalchemy.exc import StatementError
from sqlalchemy.orm import Session

from calsync.domain import vocabulary
from calsync.domain.meeting import MeetingData
from calsync.domain.vocabulary import (
    PAUSED,
    VOCABULARIES,
    Channel,
    DealStatus,
    DismissReason,
    FollowUpStatus,
    MeetingStatus,
    NoReason,
    Outcome,
    PromptStatus,
    SkipReason,
    SourceStatus,
    TimelineKind,
    WebhookEvent,
    WriteStatus,
)
from calsync.models import Base, Source, User, Vocabulary
from calsync.web.api import schemas
from calsync.web.api.bodies import AnswerIn, PromptQuery

TEMPLATES = Path(__file__).resolve().parents[2] / "web" / "templates"
LABELLED = (SourceStatus, SkipReason, DismissReason, Outcome, NoReason, Channel)


def declared() -> set[type[StrEnum]]:
    return {value for _, value in inspect.getmembers(vocabulary, inspect.isclass)
            if issubclass(value, StrEnum) and value is not StrEnum}


def test_every_vocabulary_is_listed_once() -> None:
    assert set(VOCABULARIES) == declared()
    assert len(VOCABULARIES) == len(set(VOCABULARIES))


@pytest.mark.parametrize("values", VOCABULARIES, ids=lambda v: v.__name__)
def test_codes_are_short_lowercase_words(values: type[StrEnum]) -> None:
    # Webhook events are namespaced by what changed ("deal.won"), as the issue names them.
    word = r"[a-z]+(_[a-z]+)*"
    code = rf"{word}\.{word}" if values is WebhookEvent else word
    for member in values:
        assert re.fullmatch(code, member.value), member
        assert member == member.value and str(member) == member.value


@pytest.mark.parametrize("values", LABELLED, ids=lambda v: v.__name__)
def test_every_member_of_a_labelled_vocabulary_has_its_label(values: type[Any]) -> None:
    labels = [member.label for member in values]
    assert all(labels) or values is Channel
    assert len(set(labels)) == len(labels)


def test_labels_read_as_the_pages_always_showed_them() -> None:
    assert SourceStatus.NEEDS_RECONNECT.label == "Needs reconnecting"
    assert SourceStatus.DISABLED.label == "Paused"
    assert Outcome.YES.label == "Yes — won / agreed"
    assert SkipReason.INTERNAL_ONLY.label == "only colleagues"
    assert DismissReason.DIDNT_HAPPEN.label == "It didn't happen"


def test_each_channel_has_a_label_a_calendar_title_and_a_phrase() -> None:
    for channel in Channel:
        assert channel.label and channel.event_label
        assert channel.phrase or channel is Channel.OTHER
    assert Channel.EMAIL.phrase == "by email"
    assert (Channel.CALL.event_label, Channel.OTHER.event_label) == ("Call", "Follow-up")
    assert Channel.OTHER.label == "Other"


def test_paused_is_disabled_or_needs_reconnect() -> None:
    assert set(PAUSED) == {SourceStatus.DISABLED, SourceStatus.NEEDS_RECONNECT}
    assert {s for s in SourceStatus if s.paused} == set(PAUSED)


def test_only_pending_and_snoozed_prompts_await_an_answer() -> None:
    waiting = {s for s in PromptStatus if s.awaiting_answer}
    assert waiting == {PromptStatus.PENDING, PromptStatus.SNOOZED}


def test_each_outcome_gives_the_deal_a_status_and_only_next_step_keeps_it_open() -> None:
    assert {o: o.deal_status for o in Outcome} == {
        Outcome.YES: DealStatus.WON, Outcome.NO: DealStatus.LOST,
        Outcome.NEXT_STEP: DealStatus.OPEN}
    assert [s for s in DealStatus if not s.closed] == [DealStatus.OPEN]


def test_skips_that_time_cannot_change_are_remembered() -> None:
    forgotten = {r for r in SkipReason if not r.remembered}
    assert forgotten == {SkipReason.NOT_SKIPPED, SkipReason.NOT_ENDED, SkipReason.TOO_OLD}


@pytest.mark.parametrize(("given", "kept"), [
    ("cancelled", MeetingStatus.CANCELLED), ("CANCELLED", MeetingStatus.CANCELLED),
    ("confirmed", MeetingStatus.CONFIRMED), ("tentative", MeetingStatus.CONFIRMED),
    (MeetingStatus.CANCELLED, MeetingStatus.CANCELLED)])
def test_a_meeting_read_from_a_source_has_one_of_calsyncs_statuses(given: str,
                                                                  kept: MeetingStatus) -> None:
    start = datetime(2024, 5, 14, 10, tzinfo=UTC)
    meeting = MeetingData(uid="e", recurrence_id="", title="Demo", start=start,
                          end=start + timedelta(hours=1), status=given)
    assert meeting.status is kept
    assert replace(meeting, title="Demo 2").status is kept


# --- the models --------------------------------------------------------------------------


def vocabulary_columns() -> list[Any]:
    return [column for table in Base.metadata.tables.values() for column in table.columns
            if isinstance(column.type, Vocabulary)]


def test_every_state_column_is_typed_by_a_vocabulary_that_fits_it() -> None:
    columns = {f"{c.table.name}.{c.name}": c for c in vocabulary_columns()}
    assert {"sources.status", "meetings.status", "meetings.prompt_skip", "deals.status",
            "followups.status", "followups.channel", "followups.write_status",
            "prompts.status", "prompts.outcome", "prompts.no_reason", "prompts.dismiss_reason",
            "outbox.status", "oauth_states.purpose"} <= set(columns)
    for name, column in columns.items():
        longest = max(len(member.value) for member in column.type.vocabulary)
        assert longest <= column.type.impl_instance.length, name


def test_every_default_state_is_a_member_of_its_vocabulary() -> None:
    defaults = [(c, c.default.arg) for c in vocabulary_columns() if c.default is not None]
    assert len(defaults) >= 7
    for column, default in defaults:
        assert type(default) is column.type.vocabulary, column


def test_a_row_carries_members_assigned_loaded_and_updated(db_session: Session,
                                                           user: User) -> None:
    source = Source(user_id=user.id, kind="ics", name="Work", url="https://example.com/a.ics")
    db_session.add(source)
    db_session.flush()
    assert source.status is SourceStatus.NEW
    source.status = "error"
    assert source.status is SourceStatus.ERROR
    db_session.commit()
    db_session.execute(update(Source).where(Source.id == source.id).values(status="disabled"))
    db_session.commit()
    db_session.expire_all()
    assert db_session.get(Source, source.id).status is SourceStatus.DISABLED


def test_a_state_outside_the_vocabulary_never_reaches_the_database(db_session: Session,
                                                                   user: User) -> None:
    source = Source(user_id=user.id, kind="ics", name="Work", url="https://example.com/a.ics")
    with pytest.raises(ValueError, match="paused"):
        source.status = "paused"
    db_session.add(source)
    db_session.commit()
    with pytest.raises(StatementError, match="paused"):
        db_session.execute(update(Source).values(status="paused"))
    db_session.rollback()


# --- the API -----------------------------------------------------------------------------


FIELDS = {
    ("SourceOut", "status"): SourceStatus,
    ("MeetingOut", "status"): MeetingStatus,
    ("PromptOut", "status"): PromptStatus,
    ("PromptOut", "dismiss_reason"): DismissReason,
    ("OutcomeOut", "outcome"): Outcome,
    ("OutcomeOut", "no_reason"): NoReason,
    ("DealOut", "status"): DealStatus,
    ("FollowUpOut", "status"): FollowUpStatus,
    ("FollowUpOut", "channel"): Channel,
    ("FollowUpOut", "write_status"): WriteStatus,
    ("SuggestionOut", "channel"): Channel,
    ("TimelineEntryOut", "kind"): TimelineKind,
}


def listed(schema: dict[str, Any]) -> list[str]:
    """The values a field's schema allows, whether or not it may also be null."""
    for option in schema.get("anyOf", [schema]):
        if "enum" in option:
            return list(option["enum"])
    raise AssertionError(f"no enum in {schema}")


@pytest.mark.parametrize(("model", "field"), FIELDS)
def test_the_document_lists_exactly_the_vocabulary(model: str, field: str) -> None:
    """The OpenAPI document is made of these very schemas (see calsync.web.api.openapi)."""
    response = getattr(schemas, model).model_json_schema(mode="serialization")
    schema = response["properties"][field]
    assert listed(schema) == [member.value for member in FIELDS[(model, field)]]


def test_bodies_and_queries_read_as_members() -> None:
    answer = AnswerIn.model_validate_json(
        '{"outcome": "next_step", "no_reason": "no_budget", "next_step": '
        '{"summary": "Call", "start": "2030-01-01T10:00:00+00:00", "channel": "call"}}')
    assert answer.outcome is Outcome.NEXT_STEP and answer.no_reason is NoReason.NO_BUDGET
    assert answer.next_step is not None and answer.next_step.channel is Channel.CALL
    assert PromptQuery.model_validate({"status": "snoozed"}).status is PromptStatus.SNOOZED


# --- the templates -----------------------------------------------------------------------

# A state compared with a quoted string ("p.status == 'pending'") instead of its member.
SPELLED_OUT = re.compile(
    r"\b(?:status|write_status|outcome|no_reason|dismiss_reason|channel|prompt_skip)"
    r"\s*(?:==|!=|\bin\b|\bnot in\b)\s*\(?\s*['\"]")


def test_templates_compare_states_with_members() -> None:
    spelled = [f"{path.name}:{number}" for path in sorted(TEMPLATES.glob("*.html"))
               for number, line in enumerate(path.read_text().splitlines(), start=1)
               if SPELLED_OUT.search(line)]
    assert spelled == []
