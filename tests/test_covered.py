"""A deal that moved on: an answer covers the deal's older prompts (touches, out of the inbox,
undone in one click); suggestions land in free slots and never on each other; a next step in
a busy time is saved with the meeting it clashes with."""

# The tests take test_answers' `prompts` fixture (three prompts of one deal) by its name.
# ruff: noqa: F811

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import create_engine, event, text
from sqlalchemy.orm import Session

from calsync import migrate
from calsync.errors import NotFound, PromptAlreadyAnswered, PromptClosed
from calsync.models import Meeting, Prompt, User
from calsync.services import answers, link_actions, sources, stats
from calsync.services import prompts as inbox
from calsync.services.answers import Answer, NextStep
from calsync.services.links import Link, LinkPurpose
from tests.test_answers import me, prompts, step  # noqa: F401 (the fixture)
from tests.test_sync import NOW


def busy_meeting(session: Session, user: User, start: datetime, minutes: int = 60,
                 title: str = "Weekly pipeline review", **fields: object) -> Meeting:
    row = Meeting(user_id=user.id, uid=f"busy-{start.isoformat()}-{title}", title=title,
                  start=start, end=start + timedelta(minutes=minutes), **fields)
    session.add(row)
    session.commit()
    return row


def answer_newest(session: Session, settings, user: User, pending: list[Prompt],  # type: ignore[no-untyped-def]
                  answer: Answer | None = None) -> answers.AnswerResult:
    return answers.answer_prompt(session, settings, me(session, user), pending[0],
                                 answer or Answer("next_step", next_step=step()))


# --- covering ------------------------------------------------------------------------------


def test_answering_the_newest_covers_the_older_ones(db_session, settings, user,
                                                   prompts) -> None:
    newest, weekly, first = prompts
    result = answer_newest(db_session, settings, user, prompts)
    assert [p.id for p in result.covered] == [first.id, weekly.id]  # oldest first
    for covered in (weekly, first):
        assert covered.status == "covered" and covered.covered_by_id == newest.id
        assert covered.answered_at == newest.answered_at
    assert inbox.list_prompts(db_session, user, "pending", limit=25).items == []
    # Three touches: the answer and the two it covered, each at its own time.
    assert inbox.deal_touches(db_session, newest.deal_id) == 3
    context = inbox.touch_contexts(db_session, [newest])[newest.id]
    assert context.touches_before == 2


def test_an_older_answer_covers_nothing_newer(db_session, settings, user, prompts) -> None:
    newest, weekly, first = prompts
    result = answers.answer_prompt(db_session, settings, me(db_session, user), first,
                                   Answer("next_step", next_step=step()))
    assert result.covered == []
    assert (newest.status, weekly.status) == ("pending", "pending")


def test_the_middle_answer_covers_only_what_came_before(db_session, settings, user,
                                                        prompts) -> None:
    newest, weekly, first = prompts
    result = answers.answer_prompt(db_session, settings, me(db_session, user), weekly,
                                   Answer("next_step", next_step=step()))
    assert [p.id for p in result.covered] == [first.id]
    assert newest.status == "pending"


def test_snoozed_prompts_are_covered_too(db_session, settings, user, prompts) -> None:
    _newest, weekly, _first = prompts
    answers.snooze(db_session, weekly, NOW + timedelta(days=1), NOW)
    answer_newest(db_session, settings, user, prompts)
    assert weekly.status == "covered" and weekly.snoozed_until is None


def test_covered_prompts_show_what_covered_them(db_session, settings, user, prompts) -> None:
    answer_newest(db_session, settings, user, prompts)
    assert answers.covering_answer(prompts[2]) == "your answer on “Demo” (Next step)"
    assert answers.recorded_answer(prompts[2]).startswith("covered by your answer on “Demo”")


def test_uncover_puts_one_back_and_the_rest_stay_covered(db_session, settings, user,
                                                        prompts) -> None:
    newest, weekly, first = prompts
    answer_newest(db_session, settings, user, prompts)
    answers.uncover(db_session, me(db_session, user), first)
    db_session.expire_all()
    assert (first.status, first.covered_by_id, first.answered_at) == ("pending", None, None)
    assert weekly.status == "covered"
    assert inbox.deal_touches(db_session, newest.deal_id) == 2
    with pytest.raises(PromptClosed):
        answers.uncover(db_session, me(db_session, user), first)  # nothing to undo now


def test_undo_all_brings_every_covered_prompt_back(db_session, settings, user,
                                                   prompts) -> None:
    newest, weekly, first = prompts
    answer_newest(db_session, settings, user, prompts)
    released = answers.uncover_all(db_session, me(db_session, user), newest)
    assert {p.id for p in released} == {weekly.id, first.id}
    assert {p.status for p in (weekly, first)} == {"pending"}
    assert newest.status == "answered"  # the answer itself stays
    assert inbox.deal_touches(db_session, newest.deal_id) == 1


def test_a_changed_answer_keeps_what_it_covered_and_does_not_cover_again(
        db_session, settings, user, prompts) -> None:
    newest, weekly, first = prompts
    answer_newest(db_session, settings, user, prompts)
    answers.uncover(db_session, me(db_session, user), first)
    changed = answers.answer_prompt(db_session, settings, me(db_session, user), newest,
                                    Answer("yes"))
    assert changed.covered == []
    assert weekly.status == "covered"  # kept
    assert first.status == "pending"  # undone stays undone


def test_moving_the_answer_to_another_deal_releases_what_it_covered(db_session, settings,
                                                                    user, prompts) -> None:
    newest, weekly, first = prompts
    answer_newest(db_session, settings, user, prompts)
    answers.move_to_chosen_deal(db_session, me(db_session, user), newest, new_name="Other")
    assert {p.status for p in (weekly, first)} == {"pending"}


def test_a_covered_prompt_can_still_be_answered_on_its_own(db_session, settings, user,
                                                           prompts) -> None:
    _newest, _weekly, first = prompts
    answer_newest(db_session, settings, user, prompts)
    with pytest.raises(PromptAlreadyAnswered, match="covered by your answer"):
        answers.answer_prompt(db_session, settings, me(db_session, user), first, Answer("no"),
                              replace=False)
    answers.answer_prompt(db_session, settings, me(db_session, user), first, Answer("no"))
    assert (first.status, first.covered_by_id) == ("answered", None)


def test_covered_prompts_cannot_be_snoozed_or_dismissed(db_session, settings, user,
                                                        prompts) -> None:
    answer_newest(db_session, settings, user, prompts)
    with pytest.raises(PromptClosed):
        answers.snooze(db_session, prompts[2], NOW + timedelta(days=1), NOW)
    with pytest.raises(PromptClosed):
        answers.dismiss(db_session, prompts[2])


def test_another_users_prompt_cannot_be_uncovered(db_session, settings, user, make_user,
                                                  prompts) -> None:
    answer_newest(db_session, settings, user, prompts)
    other = db_session.get(User, make_user("bo@elsewhere.example").id)
    with pytest.raises(NotFound):
        answers.uncover(db_session, other, prompts[2])
    with pytest.raises(NotFound):
        answers.uncover_all(db_session, other, prompts[0])
    assert prompts[2].status == "covered"


def test_covered_touches_count_on_the_dashboard(db_session, settings, user, prompts) -> None:
    answer_newest(db_session, settings, user, prompts)
    touches = stats.deal_touches(db_session, me(db_session, user))
    assert [t.touches for t in touches] == [3]
    since = NOW - timedelta(days=30)
    assert len(stats.meeting_answers(db_session, me(db_session, user), since)) == 3


def test_an_answer_link_on_a_covered_prompt_says_so_and_does_nothing(db_session, settings,
                                                                     user, prompts) -> None:
    answer_newest(db_session, settings, user, prompts)
    account = me(db_session, user)
    link = Link(LinkPurpose.ANSWER, account.id, NOW + timedelta(days=7),
                prompt_id=prompts[2].id, action="yes")
    opened = link_actions.Opened(link, account, prompt=prompts[2])
    with pytest.raises(PromptClosed, match="covered by your answer on “Demo”"):
        link_actions.answer(db_session, settings, opened, Answer("yes"))
    assert prompts[2].status == "covered" and prompts[2].outcome is None


# --- free slots ------------------------------------------------------------------------------


def test_a_suggestion_avoids_a_meeting_in_its_slot(db_session, settings, user,
                                                   prompts) -> None:
    account = me(db_session, user)
    plain = inbox.suggestion_for(db_session, settings, account, prompts[0], NOW)
    busy_meeting(db_session, user, plain.start, 60)
    moved = inbox.suggestion_for(db_session, settings, account, prompts[0], NOW)
    assert moved.start == plain.start + timedelta(hours=1)
    assert f"{moved.start:%H:%M}" in moved.message  # the sentence names the free time


def test_all_day_and_cancelled_meetings_leave_the_slot_free(db_session, settings, user,
                                                            prompts) -> None:
    account = me(db_session, user)
    plain = inbox.suggestion_for(db_session, settings, account, prompts[0], NOW)
    busy_meeting(db_session, user, plain.start, 60, title="Cancelled", status="cancelled")
    day = plain.start.replace(hour=0, minute=0)
    busy_meeting(db_session, user, day, 24 * 60, title="Holiday", all_day=True)
    assert inbox.suggestion_for(db_session, settings, account, prompts[0], NOW).start == (
        plain.start)


def test_a_planned_followup_is_busy_for_other_suggestions(db_session, settings, user,
                                                          prompts) -> None:
    account = me(db_session, user)
    newest, weekly, _first = prompts
    plain = inbox.suggestion_for(db_session, settings, account, weekly, NOW)
    answers.answer_prompt(db_session, settings, account, newest, Answer(
        "next_step", next_step=NextStep("Call", plain.start.astimezone(UTC), 30, "call")))
    answers.uncover_all(db_session, account, newest)
    assert inbox.suggestion_for(db_session, settings, account, weekly, NOW).start == (
        plain.start + timedelta(minutes=30))


def test_suggestions_on_one_page_never_share_a_slot(db_session, settings, user,
                                                    prompts) -> None:
    account = me(db_session, user)
    contexts = inbox.touch_contexts(db_session, prompts, NOW)
    starts = [inbox.suggestion_for(db_session, settings, account, p, NOW, contexts[p.id]).start
              for p in prompts]
    assert len(set(starts)) == 3
    # Asked again (a page rendering one prompt twice), a prompt keeps its own slot.
    again = inbox.suggestion_for(db_session, settings, account, prompts[1], NOW,
                                 contexts[prompts[1].id])
    assert again.start == starts[1]


def test_a_page_of_suggestions_reads_the_calendar_once(db_session, settings, user,
                                                       prompts) -> None:
    account = me(db_session, user)
    statements: list[str] = []

    def record(conn, cursor, statement, *args) -> None:  # type: ignore[no-untyped-def]
        statements.append(statement)

    engine = db_session.get_bind()
    event.listen(engine, "before_cursor_execute", record)
    try:
        contexts = inbox.touch_contexts(db_session, prompts, NOW)
        for p in prompts:
            inbox.suggestion_for(db_session, settings, account, p, NOW, contexts[p.id])
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert len([s for s in statements if "FROM meetings" in s]) == 1


# --- clashes ---------------------------------------------------------------------------------


def test_a_next_step_in_a_busy_slot_is_saved_with_the_clash_named(db_session, settings, user,
                                                                  prompts) -> None:
    account = me(db_session, user)
    tz = ZoneInfo(account.timezone)
    start = (NOW + timedelta(days=3)).astimezone(tz).replace(hour=10, minute=0, second=0)
    busy_meeting(db_session, user, start.astimezone(UTC) - timedelta(minutes=30), 60)
    result = answers.answer_prompt(db_session, settings, account, prompts[0], Answer(
        "next_step", next_step=NextStep("Send pricing", start, 30, "call")))
    assert result.followup is not None and result.prompt.status == "answered"
    expected = f"{start:%a} {start.day} {start:%b} 10:00 clashes with “Weekly pipeline review”."
    assert result.warning is not None and expected in result.warning


def test_the_live_check_names_the_clash_and_ignores_the_prompts_own_plan(
        db_session, settings, user, prompts) -> None:
    account = me(db_session, user)
    start = (NOW + timedelta(days=4)).replace(microsecond=0)
    assert answers.clash_for(db_session, account, prompts[0], start, 30) is None
    result = answers.answer_prompt(db_session, settings, account, prompts[0], Answer(
        "next_step", next_step=NextStep("Send pricing", start, 30, "call")))
    # Changing that answer: its own follow-up is not in the way ...
    assert answers.clash_for(db_session, account, prompts[0], start, 30) is None
    # ... but it is for another prompt's next step.
    message = answers.clash_for(db_session, account, prompts[1], start, 30)
    assert message is not None and message.endswith("clashes with “Send pricing”.")
    assert result.warning is None


# --- the migration ---------------------------------------------------------------------------


def test_migration_0008_adds_covered_by_and_downgrading_puts_covered_back(
        empty_database_url: str) -> None:
    migrate.upgrade(empty_database_url, "0008")
    engine = create_engine(empty_database_url)
    try:
        with engine.begin() as connection:
            connection.execute(text(
                "INSERT INTO users (id, email, password_hash, timezone, internal_domains, "
                "feed_token, created_at) VALUES (1, 'a@example.com', '', 'UTC', '[]', 'tok', "
                "'2026-12-01 10:00:00')"))
            for pid, status, by in ((1, "answered", None), (2, "covered", 1)):
                connection.execute(text(
                    "INSERT INTO prompts (id, user_id, touch_at, status, note, created_at, "
                    "covered_by_id) VALUES (:id, 1, '2026-12-01 09:00:00', :status, '', "
                    "'2026-12-01 10:00:00', :by)"), {"id": pid, "status": status, "by": by})
        migrate.downgrade(empty_database_url, "0007")
        with engine.connect() as connection:
            rows = connection.execute(text("SELECT id, status FROM prompts ORDER BY id")).all()
        assert [tuple(row) for row in rows] == [(1, "answered"), (2, "pending")]
        migrate.upgrade(empty_database_url)
        migrate.check(empty_database_url)
    finally:
        engine.dispose()


def test_removing_a_calendar_keeps_covered_touches(db_session, settings, user, prompts) -> None:
    newest, weekly, first = prompts
    answer_newest(db_session, settings, user, prompts)
    kept = {p.id: p.meeting.title for p in (newest, weekly, first)}
    sources.delete_source(db_session, newest.meeting.source)
    db_session.expunge_all()
    for prompt_id, title in kept.items():
        prompt = db_session.get(Prompt, prompt_id)
        assert prompt is not None and prompt.meeting.title == title  # each touch stays
    assert inbox.deal_touches(db_session, newest.deal_id) == 3
