"""`calsync digest --user EMAIL` as a person runs it: the digest as text, or sent with --send."""

from __future__ import annotations

import re

from tests.coach.history import make_week
from tests.mail.conftest import Mailbox
from tests.test_cli import cli_env, run

__all__ = ["cli_env"]  # the fixture, for the tests below


def test_digest_prints_and_sends(cli_env: dict[str, str], db_session,  # type: ignore[no-untyped-def]
                                 user, mailbox: Mailbox) -> None:
    make_week(db_session, user.id)  # in the database cli_env points the command at
    env = cli_env
    shown = run(env, "digest", "--user", user.email)
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.startswith("Your day, ")
    assert "Call about the trial (Acme)" in shown.stdout
    assert re.search(r"^Waiting on them: https?://\S+/a/\S+$", shown.stdout, re.MULTILINE)
    assert mailbox.messages == []

    refused = run(env, "digest", "--user", user.email, "--send")
    assert refused.returncode != 0 and "SMTP_URL is not set" in refused.stderr

    sent = run({**env, "SMTP_URL": mailbox.url}, "digest", "--user", user.email, "--send")
    assert sent.returncode == 0, sent.stderr
    assert sent.stdout.startswith("250 ")
    message, = mailbox.messages
    assert message["To"] == user.email

    unknown = run(env, "digest", "--user", "nobody@example.com")
    assert unknown.returncode != 0 and "nobody@example.com" in unknown.stderr
