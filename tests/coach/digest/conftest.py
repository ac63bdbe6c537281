"""The digest's tests send to the mail tests' real SMTP server, with their settings."""

from tests.mail.conftest import mailbox, settings

__all__ = ["mailbox", "settings"]
