"""Users, their logins, API tokens and feed token: creation, sign-in checks, revocation.

Secrets are generated here; login and API tokens are stored only as hashes.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from calsync.config import Settings
from calsync.db import rows_changed
from calsync.errors import NotFound, ValidationFailed
from calsync.models import ApiToken, LoginSession, User
from calsync.services.settings import check_timezone

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MIN_PASSWORD_LENGTH = 8
LAST_USED_PRECISION = timedelta(minutes=1)
TOKEN_PREFIX = "cs_"  # noqa: S105 - a visible marker, not a secret
# A real hash (werkzeug's default method and cost) of a password nobody has. Checking an
# unknown email against it costs exactly what checking a real account's hash costs, so the
# time a refusal takes does not tell whether the account exists.
STAND_IN_HASH = (
    "scrypt:32768:8:1$SZAJFWjdMTPBWkFY$2388ececc332fae2a3893c35267462ae4b7de0682cb54c1ba4"
    "23e6858c90e1fd7201ce09c834927a5d51096782b25c9bd8e8eb515c75f190b3267bb72edf79a6")


def normalise_email(email: str) -> str:
    cleaned = email.strip().lower()
    if not EMAIL_RE.match(cleaned) or len(cleaned) > 320:
        raise ValidationFailed("email", "enter an email address like name@example.com.")
    return cleaned


def create_user(session: Session, email: str, password: str | None, timezone: str = "UTC") -> User:
    """A new user; raises ValidationFailed naming the field that is wrong. Commits."""
    user = add_user(session, email, password, timezone)
    session.commit()
    return user


def add_user(session: Session, email: str, password: str | None, timezone: str = "UTC") -> User:
    """A new user, as `create_user`. Part of the caller's unit of work."""
    email = normalise_email(email)
    timezone = check_timezone(timezone)
    if password is not None:
        check_password_length("password", password)
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


def check_password_length(field: str, password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationFailed(field, f"use at least {MIN_PASSWORD_LENGTH} characters.")


def authenticate(session: Session, email: str, password: str) -> User | None:
    """The user with this email and password; every outcome costs one hash check."""
    user = session.scalar(select(User).where(User.email == email.strip().lower()))
    has_password = user is not None and bool(user.password_hash)
    stored = user.password_hash if user is not None and user.password_hash else STAND_IN_HASH
    matches = check_password_hash(stored, password)
    return user if matches and has_password else None


def change_password(session: Session, user: User, current: str, new: str) -> None:
    """Set a new password and end every other login of the user (a thief's included).
    Commits."""
    if not user.password_hash or not check_password_hash(user.password_hash, current):
        raise ValidationFailed("current_password", "your current password is not right.")
    check_password_length("new_password", new)
    user.password_hash = generate_password_hash(new)
    _end_logins(session, user, keep=user.login_token)
    session.commit()


def login_lifetime(settings: Settings) -> timedelta:
    """How long a login lasts, "remember me" included."""
    return timedelta(days=settings.session_days)


def start_login(session: Session, user: User, lifetime: timedelta) -> str:
    """A new login of `user` in one browser; its token becomes `user.get_id()`.

    Also clears the user's ended and expired logins, so rows don't pile up. Commits.
    """
    now = datetime.now(UTC)
    session.execute(delete(LoginSession).where(
        LoginSession.user_id == user.id,
        or_(LoginSession.revoked_at.is_not(None), LoginSession.created_at < now - lifetime)))
    token = secrets.token_urlsafe(32)
    session.add(LoginSession(user_id=user.id, token_hash=_hash_token(token), created_at=now))
    session.commit()
    user.login_token = token
    return token


def user_for_login(session: Session, token: str, lifetime: timedelta) -> User | None:
    """The user of a live login, or None once it was ended or is older than `lifetime`."""
    user = session.scalar(select(User).join(LoginSession).where(
        LoginSession.token_hash == _hash_token(token), LoginSession.revoked_at.is_(None),
        LoginSession.created_at >= datetime.now(UTC) - lifetime))
    if user is not None:
        user.login_token = token
    return user


def end_login(session: Session, user: User) -> None:
    """End the login this request came with: its session and remember cookies stop working.
    Commits."""
    if user.login_token:
        session.execute(update(LoginSession).where(
            LoginSession.user_id == user.id,
            LoginSession.token_hash == _hash_token(user.login_token),
        ).values(revoked_at=datetime.now(UTC)))
        session.commit()


def end_all_logins(session: Session, user: User) -> int:
    """End every login of the user in every browser; returns how many. Commits."""
    ended = _end_logins(session, user)
    session.commit()
    return ended


def _end_logins(session: Session, user: User, keep: str | None = None) -> int:
    """End every login of the user, except the one whose token is `keep`; returns how many."""
    query = update(LoginSession).where(LoginSession.user_id == user.id,
                                       LoginSession.revoked_at.is_(None))
    if keep:
        query = query.where(LoginSession.token_hash != _hash_token(keep))
    return rows_changed(session.execute(query.values(revoked_at=datetime.now(UTC))))


def live_logins(session: Session, user: User, lifetime: timedelta) -> int:
    """How many browsers the user is signed in on."""
    return session.scalar(select(func.count()).select_from(LoginSession).where(
        LoginSession.user_id == user.id, LoginSession.revoked_at.is_(None),
        LoginSession.created_at >= datetime.now(UTC) - lifetime)) or 0


def user_by_email(session: Session, email: str) -> User:
    user = session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None:
        raise NotFound(f"No user with the email {email}.")
    return user


def new_feed_token() -> str:
    return secrets.token_urlsafe(24)  # 192 bits: the URL is the only key to the feed


def rotate_feed_token(session: Session, user: User) -> str:
    """Give the user's feed a new secret address; the old one stops working. Commits."""
    user.feed_token = new_feed_token()
    session.commit()
    return user.feed_token


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_api_token(session: Session, user: User, name: str = "") -> tuple[ApiToken, str]:
    """A new token row and the plaintext token, which is shown once and never stored.
    Commits."""
    plaintext = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(user_id=user.id, name=name.strip()[:100], token_hash=_hash_token(plaintext),
                     prefix=plaintext[:10])
    session.add(token)
    session.commit()
    return token, plaintext


def user_for_api_token(session: Session, plaintext: str) -> User | None:
    """The user of a live API token, or None; records when the token was last used (commits
    then)."""
    token = session.scalar(select(ApiToken).where(ApiToken.token_hash == _hash_token(plaintext)))
    if token is None or token.revoked_at is not None:
        return None
    now = datetime.now(UTC)
    # Minute precision is all the settings page shows: a busy script must not turn every
    # API call into a database write.
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_PRECISION:
        token.last_used_at = now
        session.commit()
    return token.user


def api_tokens(session: Session, user: User) -> list[ApiToken]:
    query = select(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
    return list(session.scalars(query.order_by(ApiToken.id.desc())))


def revoke_api_token(session: Session, user: User, token_id: int) -> None:
    """Stop one of the user's API tokens from working. Commits."""
    token = session.get(ApiToken, token_id)
    if token is None or token.user_id != user.id:
        raise NotFound("No such API token.")
    token.revoked_at = datetime.now(UTC)
    session.commit()
