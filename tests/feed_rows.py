"""The feed tests' rows: a deal with follow-ups, so a user's feed has something to show."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from flask import Flask

from calsync.db import get_db
from calsync.models import Deal, FollowUp, User


def northwind_feed(app: Flask, user: User, starts: Sequence[datetime]) -> str:
    """A deal, Northwind, with a 30-minute email follow-up at each of `starts` (the n-th:
    uid `f{n}@calsync`, summary `Send pricing {n}`); returns the user's feed path."""
    with app.app_context(), get_db().session() as session:
        deal = Deal(user_id=user.id, name="Northwind", key="domain:northwind.example")
        session.add(deal)
        session.flush()
        for n, start in enumerate(starts):
            session.add(FollowUp(user_id=user.id, deal_id=deal.id, uid=f"f{n}@calsync",
                                 summary=f"Send pricing {n}", start=start,
                                 end=start + timedelta(minutes=30), channel="email"))
        session.commit()
        owner = session.get(User, user.id)
        assert owner is not None
        return f"/feed/{owner.feed_token}.ics"
