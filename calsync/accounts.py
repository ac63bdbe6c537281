"""Users, their API tokens and their feed token: creation, sign-in checks, rotation.

Secrets are generated here; API tokens are stored only as hashes.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from calsync.errors import NotFound, ValidationFailed
from calsync.models import ApiToken, User

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MIN_PASSWORD_LENGTH = 8
LAST_USED_PRECISION = timedelta(minutes=1)
TOKEN_PREFIX = "cs_"  # noqa: S105 - a visible marker, not a secret


def normalise_email(email: str) -> str:
    cleaned = email.strip().lower()
    if not EMAIL_RE.match(cleaned) or len(cleaned) > 320:
        raise ValidationFailed("email", "enter an email address like name@example.com.")
    return cleaned


def check_timezone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValidationFailed("timezone", f"{name!r} is not a known time zone.") from exc
    if name not in available_timezones() and name != "UTC":
        raise ValidationFailed("timezone", f"{name!r} is not a known time zone.")
    return name


def create_user(session: Session, email: str, password: str | None, timezone: str = "UTC") -> User:
    """A new user; raises ValidationFailed naming the field that is wrong."""
    email = normalise_email(email)
    timezone = check_timezone(timezone)
    if password is not None and len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationFailed("password", f"use at least {MIN_PASSWORD_LENGTH} characters.")
    if session.scalar(select(User.id).where(User.email == email)) is not None:
        raise ValidationFailed("email", "an account with this email already exists.")
    user = User(
        email=email,
        password_hash=generate_password_hash(password) if password else None,
        timezone=timezone,
        internal_domains=[],
        feed_token=new_feed_token(),
    )
    session.add(user)
    session.flush()
    return user


def authenticate(session: Session, email: str, password: str) -> User | None:
    user = session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None or not user.password_hash:
        # Hash anyway so a wrong email takes as long as a wrong password.
        check_password_hash(generate_password_hash("x"), password)
        return None
    return user if check_password_hash(user.password_hash, password) else None


def user_by_email(session: Session, email: str) -> User:
    user = session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None:
        raise NotFound(f"No user with the email {email}.")
    return user


def new_feed_token() -> str:
    return secrets.token_urlsafe(24)  # 192 bits: the URL is the only key to the feed


def rotate_feed_token(user: User) -> str:
    user.feed_token = new_feed_token()
    return user.feed_token


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_api_token(session: Session, user: User, name: str = "") -> tuple[ApiToken, str]:
    """A new token row and the plaintext token, which is shown once and never stored."""
    plaintext = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(user_id=user.id, name=name.strip()[:100], token_hash=_hash_token(plaintext),
                     prefix=plaintext[:10])
    session.add(token)
    session.flush()
    return token, plaintext


def user_for_api_token(session: Session, plaintext: str) -> User | None:
    token = session.scalar(select(ApiToken).where(ApiToken.token_hash == _hash_token(plaintext)))
    if token is None or token.revoked_at is not None:
        return None
    now = datetime.now(UTC)
    # Minute precision is all the settings page shows: a busy script must not turn every
    # API call into a database write.
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_PRECISION:
        token.last_used_at = now
    return token.user


def api_tokens(session: Session, user: User) -> list[ApiToken]:
    query = select(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
    return list(session.scalars(query.order_by(ApiToken.id.desc())))


def revoke_api_token(session: Session, user: User, token_id: int) -> None:
    token = session.get(ApiToken, token_id)
    if token is None or token.user_id != user.id:
        raise NotFound("No such API token.")
    token.revoked_at = datetime.now(UTC)
