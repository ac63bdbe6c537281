"""Signing in with Google links an existing account only by an email Google has verified."""

from __future__ import annotations

import pytest

from calsync.errors import OAuthFailed
from calsync.models import User
from calsync.services.google import connections
from calsync.services.google.oauth import Grant


def grant(verified: bool, subject: str = "google-sub-1") -> Grant:
    return Grant(credentials={}, scopes=frozenset({"openid"}), email="ana@acme-sales.com",
                 subject=subject, purpose="signin", user_id=None, email_verified=verified)


def test_an_unverified_email_does_not_take_over_an_account(db_session, user) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(OAuthFailed) as caught:
        connections.sign_in(db_session, grant(verified=False))
    assert "verified" in caught.value.message
    assert db_session.get(User, user.id).google_subject is None


def test_a_verified_email_links_and_then_signs_in_by_subject(db_session, user) -> None:  # type: ignore[no-untyped-def]
    linked = connections.sign_in(db_session, grant(verified=True))
    db_session.commit()
    assert linked.id == user.id and linked.google_subject == "google-sub-1"
    again = connections.sign_in(db_session, grant(verified=False))  # known by subject now
    assert again.id == user.id
