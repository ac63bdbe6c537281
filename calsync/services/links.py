"""Signed links that act without a session: answering one prompt from an email or a
calendar event, telling the coach why a follow-up was missed, and unsubscribing.

A token names the user, what it is for and when it expires, signed with SECRET_KEY
(itsdangerous). It carries its own expiry instead of a signing time, so the same inputs
give the same token: a feed that publishes one renders the same bytes every time.
Reading a token never changes anything; the caller acts only on a confirmed POST.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from itsdangerous import BadSignature, URLSafeSerializer

from calsync.config import Settings
from calsync.domain.vocabulary import AnswerAction, MissedReason
from calsync.errors import LinkRefused

SALT = "calsync.links"
ANSWER_PATH = "/a/"
UNSUBSCRIBE_PATH = "/u/"


class LinkPurpose(StrEnum):
    ANSWER = "answer"  # a prompt's button: yes, no, next step, snooze, not sales
    # "how did it go?" on a follow-up's event, once its time passed; a promise's
    # "Delivered" or "Not yet" button in its prompt's email (`promise` says which)
    FOLLOWUP = "followup"
    MISSED = "missed"  # why a follow-up was missed, from the coach
    UNSUBSCRIBE = "unsubscribe"  # stop prompt emails (RFC 8058 one-click)


class PromiseAnswer(StrEnum):
    """A promise prompt's own answers, as its page posts them (`promise=`)."""

    DELIVERED = "delivered"
    NOT_YET = "not_yet"


@dataclass(frozen=True)
class Link:
    """What a token says; only `read` makes one from outside input."""

    purpose: LinkPurpose
    user_id: int
    expires: datetime
    prompt_id: int | None = None
    followup_id: int | None = None
    action: AnswerAction | None = None
    reason: MissedReason | None = None
    promise: PromiseAnswer | None = None  # the answer a promise's email button proposes


def _serializer(settings: Settings) -> URLSafeSerializer:
    return URLSafeSerializer(settings.load_secret_key(), salt=SALT)


def sign(settings: Settings, link: Link) -> str:
    """The token for `link`; the same link always gives the same token."""
    claim: dict[str, Any] = {"k": link.purpose.value, "u": link.user_id,
                             "x": int(link.expires.timestamp())}
    for key, value in (("p", link.prompt_id), ("f", link.followup_id),
                       ("a", link.action), ("r", link.reason), ("d", link.promise)):
        if value is not None:
            claim[key] = str(value) if isinstance(value, StrEnum) else value
    return str(_serializer(settings).dumps(claim))


def url(settings: Settings, link: Link) -> str:
    """The full address of the link: BASE_URL/a/<token>, or /u/<token> to unsubscribe."""
    path = UNSUBSCRIBE_PATH if link.purpose is LinkPurpose.UNSUBSCRIBE else ANSWER_PATH
    return f"{settings.base_url.rstrip('/')}{path}{sign(settings, link)}"


def expiry(settings: Settings, start: datetime) -> datetime:
    """When a link issued (or a follow-up ending) at `start` stops working, to the second."""
    return (start + timedelta(days=settings.answer_link_days)).replace(microsecond=0)


def followup_url(settings: Settings, user_id: int, followup_id: int, end: datetime) -> str:
    """"How did it go?" on a follow-up's event and feed entry: it expires counting from the
    follow-up's end, so the same follow-up gives the same address on every render."""
    return url(settings, Link(LinkPurpose.FOLLOWUP, user_id, expiry(settings, end),
                              followup_id=followup_id))


def read(settings: Settings, token: str, now: datetime | None = None) -> Link:
    """The link a token names. Raises LinkRefused, saying why in words, when it is forged,
    tampered with, malformed or expired."""
    try:
        claim = _serializer(settings).loads(token)
        link = _link(claim)
    except (BadSignature, KeyError, TypeError, ValueError):
        raise LinkRefused("This link is not one calsync made, or it was changed on the way.",
                          "Open your inbox to answer.") from None
    if link.expires <= (now or datetime.now(UTC)):
        raise LinkRefused("This link has expired.", "Open your inbox to answer.")
    return link


def _link(claim: Any) -> Link:
    if not isinstance(claim, dict):
        raise TypeError("a link's claim is a mapping")
    return Link(
        purpose=LinkPurpose(claim["k"]),
        user_id=int(claim["u"]),
        expires=datetime.fromtimestamp(int(claim["x"]), UTC),
        prompt_id=_optional_int(claim.get("p")),
        followup_id=_optional_int(claim.get("f")),
        action=AnswerAction(claim["a"]) if "a" in claim else None,
        reason=MissedReason(claim["r"]) if "r" in claim else None,
        promise=PromiseAnswer(claim["d"]) if "d" in claim else None,
    )


def _optional_int(value: Any) -> int | None:
    return None if value is None else int(value)
