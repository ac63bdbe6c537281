"""`calsync mail test EMAIL` as a person runs it: the server's answer on stdout, or why not."""

from __future__ import annotations

from tests.mail.conftest import Mailbox, free_port
from tests.test_cli import cli_env, run  # noqa: F401 - the process environment fixture


def test_mail_test_prints_the_servers_answer(cli_env: dict[str, str],  # noqa: F811
                                             mailbox: Mailbox) -> None:
    sent = run({**cli_env, "SMTP_URL": mailbox.url}, "mail", "test", "ops@acme-sales.com")
    assert sent.returncode == 0, sent.stderr
    assert sent.stdout == "250 2.0.0 Ok: queued as TEST1\n"
    message, = mailbox.messages
    assert message["To"] == "ops@acme-sales.com"
    assert message["Subject"] == "calsync test email"


def test_mail_test_says_why_no_email_went(cli_env: dict[str, str],  # noqa: F811
                                         mailbox: Mailbox) -> None:
    unset = run(cli_env, "mail", "test", "ops@acme-sales.com")
    assert unset.returncode != 0 and "SMTP_URL is not set" in unset.stderr
    mailbox.refuse_recipient = True
    refused = run({**cli_env, "SMTP_URL": mailbox.url}, "mail", "test", "nobody@acme-sales.com")
    assert refused.returncode != 0 and refused.stdout == ""
    assert "550 5.1.1 <nobody@acme-sales.com>: Recipient address rejected" in refused.stderr
    down = run({**cli_env, "SMTP_URL": f"smtp://127.0.0.1:{free_port()}"}, "mail", "test",
               "ops@acme-sales.com")
    assert down.returncode != 0 and "refused the connection" in down.stderr
    assert mailbox.messages == []
