"""Building the emails and deciding when they go: calendar text kept out of headers and
escaped in HTML, times in the user's zone, quiet hours and the summary's window across
midnight and a DST change."""

from __future__ import annotations

from datetime import UTC, datetime, time
from email import message_from_bytes
from email.policy import SMTP, default
from zoneinfo import ZoneInfo

import pytest

from calsync.config import Settings
from calsync.domain.vocabulary import EmailPrompts
from calsync.logscrub import scrub
from calsync.mail import messages
from calsync.models import User
from calsync.services import prompt_mail
from tests.mail.conftest import SMTP_PASSWORD

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")


def at(zone: ZoneInfo, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2031, month, day, hour, minute, tzinfo=zone).astimezone(UTC)


def card(title: str) -> messages.PromptCard:
    return messages.PromptCard(
        prompt_id=7, title=title, start=at(BERLIN, 3, 4, 23), end=at(BERLIN, 3, 5, 0, 30),
        people=("Bea <bea@prospect.example>",), more_people=3, deal="prospect.example",
        touch="touch 2 of a usual 5-7", suggestion="Touch 3 of a usual 5-7: follow up.",
        suggest_close=False)


def user(zone: str = "Europe/Berlin", start: time = time(20), end: time = time(7),
         summary_hour: int = 17) -> User:
    return User(email="ana@acme-sales.com", timezone=zone, quiet_start=start, quiet_end=end,
                summary_hour=summary_hour, email_prompts=EmailPrompts.EACH)


def test_calendar_text_stays_out_of_headers_and_is_escaped_in_html(settings: Settings) -> None:
    to = messages.Recipient(1, "ana@acme-sales.com", BERLIN)
    built = messages.prompt_email(settings, to, card("Pricing\r\nBcc: x@evil.example <b>"),
                                  at(BERLIN, 3, 5, 8))
    parsed = message_from_bytes(built.as_bytes(policy=SMTP), policy=default)
    assert parsed["Subject"] == "How did it go? Pricing Bcc: x@evil.example <b>"
    assert parsed["Bcc"] is None
    html = parsed.get_body(("html",)).get_content()  # type: ignore[union-attr]
    text = parsed.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "x@evil.example &lt;b&gt;" in html and "<b>" not in html
    assert "Bea &lt;bea@prospect.example&gt; and 3 more" in html
    assert "Bea <bea@prospect.example> and 3 more" in text
    # Runs past midnight in Berlin: both days, in the user's zone.
    assert "Tue 4 Mar, 23:00 \u2013 Wed 5 Mar, 00:30 CET" in text


def test_the_check_email_has_both_parts_and_no_unsubscribe(settings: Settings) -> None:
    built = messages.check_email(settings, "ops@acme-sales.com", at(BERLIN, 3, 5, 8))
    assert built["Auto-Submitted"] == "auto-generated"
    assert built["List-Unsubscribe"] is None
    assert [part.get_content_type() for part in built.iter_parts()] == ["text/plain",
                                                                       "text/html"]


@pytest.mark.parametrize(("local", "expected"), [
    ((3, 4, 19, 59), (3, 4, 19, 59)),  # before they start
    ((3, 4, 20, 0), (3, 5, 7, 0)),  # evening: tomorrow morning
    ((3, 5, 3, 0), (3, 5, 7, 0)),  # night: this morning
    ((3, 5, 7, 0), (3, 5, 7, 0)),  # they just ended
    ((3, 29, 23, 0), (3, 30, 7, 0)),  # over the night the clocks go forward
])
def test_quiet_hours_across_midnight_end_at_their_end(local: tuple[int, ...],
                                                      expected: tuple[int, ...]) -> None:
    assert prompt_mail.after_quiet_hours(user(), at(BERLIN, *local)) == at(BERLIN, *expected)


def test_quiet_hours_within_a_day_and_none_at_all() -> None:
    lunch = user(start=time(12), end=time(13, 30))
    assert prompt_mail.after_quiet_hours(lunch, at(BERLIN, 3, 4, 12, 10)) == \
        at(BERLIN, 3, 4, 13, 30)
    assert prompt_mail.after_quiet_hours(lunch, at(BERLIN, 3, 4, 22)) == at(BERLIN, 3, 4, 22)
    never = user(start=time(0), end=time(0))
    assert prompt_mail.after_quiet_hours(never, at(BERLIN, 3, 4, 2)) == at(BERLIN, 3, 4, 2)


def test_the_summary_window_is_the_day_before_its_hour_across_a_dst_change() -> None:
    # 9 March 2031: New York's clocks go forward; the day is 23 hours long.
    window = prompt_mail.summary_window(user("America/New_York"), at(NEW_YORK, 3, 9, 12))
    assert (window.day.isoformat(), window.since, window.until) == (
        "2031-03-09", at(NEW_YORK, 3, 8, 17), at(NEW_YORK, 3, 9, 17))
    assert (window.until - window.since).total_seconds() == 23 * 3600
    later = prompt_mail.summary_window(user("America/New_York"), at(NEW_YORK, 3, 9, 17))
    assert (later.day.isoformat(), later.since) == ("2031-03-10", at(NEW_YORK, 3, 9, 17))


def test_an_smtp_password_never_reaches_a_log_line() -> None:
    line = f"connecting to smtp://calsync:{SMTP_PASSWORD}@mail.example:587 failed"
    assert SMTP_PASSWORD not in scrub(line)
    assert "smtp://[secret]@mail.example:587" in scrub(line)
    assert SMTP_PASSWORD not in scrub(f"SMTP_URL=smtps://calsync:{SMTP_PASSWORD}@mail.example")
