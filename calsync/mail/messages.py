"""The emails about prompts: one prompt's "how did it go?" (a promise's "Delivered?"), the
day's summary, and a test,
each with HTML and plain-text parts rendered from web/templates/mail, marked automatic
(RFC 3834) and unsubscribable in one click (RFC 8058)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from functools import cache
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from calsync.config import Settings
from calsync.domain.vocabulary import AnswerAction
from calsync.services import links
from calsync.services.links import PromiseAnswer

EN_DASH = "\u2013"
SUBJECT_LENGTH = 120
# The buttons under each prompt, in order: the three answers first, then the way out.
BUTTONS: tuple[tuple[AnswerAction, str, bool], ...] = (
    (AnswerAction.YES, "Yes", True),
    (AnswerAction.NO, "No", True),
    (AnswerAction.NEXT_STEP, "Next step", True),
    (AnswerAction.SNOOZE, "Snooze", False),
    (AnswerAction.NOT_SALES, "Not a sales meeting", False),
)
# A promise's prompt asks "Delivered?" first, as its page does; the answers above follow.
PROMISE_BUTTONS = ((PromiseAnswer.DELIVERED, "Delivered"), (PromiseAnswer.NOT_YET, "Not yet"))


@dataclass(frozen=True)
class Recipient:
    """Whom an email goes to, and the zone its times are shown in."""

    user_id: int
    email: str
    zone: ZoneInfo


@dataclass(frozen=True)
class PromptCard:
    """What an email shows of one prompt: the meeting, its deal and touch, the cadence's
    suggestion; the buttons are made from `prompt_id`."""

    prompt_id: int
    title: str
    start: datetime
    end: datetime
    people: tuple[str, ...]  # "Name <email>", the user left out
    more_people: int  # attendees the source listed beyond `people`
    deal: str | None
    touch: str  # "touch 3 of a usual 5-7"
    suggestion: str
    suggest_close: bool
    kind: str = ""  # a follow-up's kind unless a plain one: "Promise"
    promised: str = ""  # "promised for Fri 5 Dec 16:00", for a promise
    value_note: str = ""  # what a promise brings them
    # A promise's follow-up, its prompt waiting and nothing delivered: "Delivered?" first.
    delivery_of: int | None = None


@dataclass(frozen=True)
class Button:
    label: str
    url: str
    primary: bool


def prompt_email(settings: Settings, to: Recipient, card: PromptCard,
                 now: datetime) -> EmailMessage:
    """The email asking how one meeting went (whether a promise was delivered); its
    Message-ID is the prompt's, so a second hand-over of the same prompt is the same
    message to every mail client."""
    context = _context(settings, to, now, cards=[card])
    message = envelope(settings, to.email, f"{question(card)} {card.title}",
                       f"<calsync.prompt.{card.prompt_id}@{host(settings)}>", now)
    _unsubscribable(message, context["unsubscribe"])
    return with_parts(message, "prompt", context)


def summary_email(settings: Settings, to: Recipient, cards: list[PromptCard], day: date,
                  now: datetime) -> EmailMessage:
    """One email listing the day's waiting prompts, each with its buttons."""
    count = f"{len(cards)} meeting{'s' if len(cards) != 1 else ''}"
    context = _context(settings, to, now, cards=cards, day=f"{day:%A} {day.day} {day:%B}")
    message = envelope(settings, to.email, f"How did they go? {count} waiting for an answer",
                       f"<calsync.summary.{to.user_id}.{day.isoformat()}@{host(settings)}>",
                       now)
    _unsubscribable(message, context["unsubscribe"])
    return with_parts(message, "summary", context)


def check_email(settings: Settings, address: str, now: datetime) -> EmailMessage:
    """A short email proving that SMTP_URL works (`calsync mail test`)."""
    message = envelope(settings, address, "calsync test email",
                       make_msgid("calsync.test", host(settings)), now)
    return with_parts(message, "check", {"base_url": settings.base_url})


def question(card: PromptCard) -> str:
    """What the email asks of the prompt: "Delivered?" for a promise, else "How did it go?"."""
    return "Delivered?" if card.delivery_of is not None else "How did it go?"


def buttons(settings: Settings, user_id: int, card: PromptCard,
            expires: datetime) -> list[Button]:
    """The prompt's buttons, each a signed link that answers it after a confirmation: a
    promise's Delivered and Not yet first (its follow-up's link, whose page asks them), the
    usual answers then as lesser buttons."""
    first = [Button(label, links.url(settings, links.Link(
        links.LinkPurpose.FOLLOWUP, user_id, expires, followup_id=card.delivery_of,
        promise=answer)), True) for answer, label in PROMISE_BUTTONS
        if card.delivery_of is not None]
    return first + [Button(label, links.url(settings, links.Link(
        links.LinkPurpose.ANSWER, user_id, expires, prompt_id=card.prompt_id, action=action)),
        primary and not first) for action, label, primary in BUTTONS]


def span(start: datetime, end: datetime, zone: ZoneInfo) -> str:
    """ "Tue 1 Dec, 14:00\u201315:00 CET" in `zone`; both days when it runs past midnight."""
    first, last = start.astimezone(zone), end.astimezone(zone)
    day = f"{first:%a} {first.day} {first:%b}, {first:%H:%M}"
    if first.date() == last.date():
        return f"{day}{EN_DASH}{last:%H:%M} {last:%Z}"
    return f"{day} {EN_DASH} {last:%a} {last.day} {last:%b}, {last:%H:%M} {last:%Z}"


def _context(settings: Settings, to: Recipient, now: datetime, *, cards: list[PromptCard],
             **extra: Any) -> dict[str, Any]:
    expires = links.expiry(settings, now)
    unsubscribe = links.url(settings, links.Link(links.LinkPurpose.UNSUBSCRIBE, to.user_id,
                                                 expires))
    shown = [{"card": card, "when": span(card.start, card.end, to.zone),
              "question": question(card),
              "buttons": buttons(settings, to.user_id, card, expires)}
             for card in cards]
    return {"cards": shown, "unsubscribe": unsubscribe, "base_url": settings.base_url,
            "link_days": settings.answer_link_days, **extra}


def envelope(settings: Settings, address: str, subject: str, message_id: str,
             now: datetime) -> EmailMessage:
    """An email's headers, every email calsync sends alike; its body comes from with_parts."""
    message = EmailMessage()
    message["From"] = settings.mail_sender
    message["To"] = address
    # A calendar's title may hold line breaks; a header may not.
    message["Subject"] = _one_line(subject)[:SUBJECT_LENGTH]
    message["Date"] = format_datetime(now.astimezone(UTC))
    message["Message-ID"] = message_id
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no out-of-office replies
    return message


def _unsubscribable(message: EmailMessage, url: str) -> None:
    """RFC 8058: the mail app's unsubscribe button POSTs to `url`, no page in between."""
    message["List-Unsubscribe"] = f"<{url}>"
    message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"


def with_parts(message: EmailMessage, name: str, context: dict[str, Any]) -> EmailMessage:
    """The plain-text and HTML bodies from the mail templates `name`.txt and `name`.html."""
    templates = _environment()
    message.set_content(templates.get_template(f"{name}.txt").render(context))
    message.add_alternative(templates.get_template(f"{name}.html").render(context),
                            subtype="html")
    return message


def _one_line(text: str) -> str:
    return " ".join(text.split())


def host(settings: Settings) -> str:
    """The host of BASE_URL, which every Message-ID calsync makes ends with."""
    return urlsplit(settings.base_url).hostname or "calsync.invalid"


@cache
def _environment() -> Environment:
    """The mail templates, read from the package: a worker renders them with no request."""
    return Environment(loader=PackageLoader("calsync", "templates/mail"),
                       autoescape=select_autoescape(["html"]), undefined=StrictUndefined,
                       trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
