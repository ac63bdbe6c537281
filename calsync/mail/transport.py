"""Hands one email to the SMTP server SMTP_URL names: STARTTLS on smtp:// when the server
offers it (required when a password is given), TLS on smtps://, AUTH when the URL has a user.

Every failure becomes a MailFailed carrying the server's own answer, told apart as
transient (retry), refused for this recipient (stop), or permanent.
"""

from __future__ import annotations

import smtplib
import socket
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import parseaddr
from urllib.parse import unquote, urlsplit

from calsync.config import Settings
from calsync.errors import MailFailed

SUBMISSION_PORT = 587
SMTPS_PORT = 465


@dataclass(frozen=True)
class Server:
    """SMTP_URL read once: where to connect and how to authenticate."""

    host: str
    port: int
    implicit_tls: bool
    username: str
    password: str

    @classmethod
    def from_url(cls, url: str) -> Server:
        parts = urlsplit(url)
        implicit_tls = parts.scheme == "smtps"
        return cls(host=parts.hostname or "", port=parts.port or (
            SMTPS_PORT if implicit_tls else SUBMISSION_PORT), implicit_tls=implicit_tls,
            username=unquote(parts.username or ""), password=unquote(parts.password or ""))


def enabled(settings: Settings) -> bool:
    """Whether calsync sends email at all (SMTP_URL is set)."""
    return bool(settings.smtp_url)


def send(settings: Settings, message: EmailMessage, *,
         context: ssl.SSLContext | None = None) -> str:
    """Hand `message` (one recipient) to the server; returns the server's answer to it
    ("250 2.0.0 Ok: queued as ..."). Raises MailFailed. `context` verifies the server's
    certificate (the system's CAs by default; tests pass one trusting their own)."""
    server = Server.from_url(settings.smtp_url)
    context = context or ssl.create_default_context()
    sender = parseaddr(str(message["From"]))[1]
    recipient = parseaddr(str(message["To"]))[1]
    try:
        with _connect(server, settings.mail_timeout_seconds, context) as smtp:
            _secure(smtp, server, context)
            if server.username:
                smtp.login(server.username, server.password)
            _expect(smtp.mail(sender), 250)
            code, reply = smtp.rcpt(recipient)
            if code not in (250, 251):
                raise MailFailed(_reply(code, reply), transient=code < 500,
                                 recipient_refused=code >= 500)
            code, reply = smtp.data(message.as_bytes(policy=SMTP))
            _expect((code, reply), 250)  # smtplib hands back the answer to the data unchecked
            return _reply(code, reply)
    except smtplib.SMTPResponseException as error:
        raise MailFailed(_reply(error.smtp_code, error.smtp_error),
                         transient=error.smtp_code < 500) from None
    except (smtplib.SMTPException, OSError) as error:
        # Unreachable, timed out, TLS refused, connection dropped: the server may come back.
        raise MailFailed(_describe(error, server), transient=True) from None


def _expect(answer: tuple[int, bytes], code: int) -> None:
    if answer[0] != code:
        raise smtplib.SMTPResponseException(*answer)


def _connect(server: Server, timeout: float, context: ssl.SSLContext) -> smtplib.SMTP:
    if server.implicit_tls:
        return smtplib.SMTP_SSL(server.host, server.port, timeout=timeout, context=context)
    return smtplib.SMTP(server.host, server.port, timeout=timeout)


def _secure(smtp: smtplib.SMTP, server: Server, context: ssl.SSLContext) -> None:
    """STARTTLS when the server offers it; a password is never sent in the clear."""
    if server.implicit_tls:
        return
    smtp.ehlo()
    if smtp.has_extn("starttls"):
        smtp.starttls(context=context)
        smtp.ehlo()
    elif server.username:
        raise MailFailed(f"{server.host} does not offer STARTTLS, and calsync will not send "
                         "the password unencrypted.", transient=False)


def _reply(code: int, reply: bytes | str) -> str:
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else reply
    return f"{code} {' '.join(text.split())}"


def _describe(error: BaseException, server: Server) -> str:
    where = f"{server.host}:{server.port}"
    if isinstance(error, TimeoutError | socket.timeout):
        return f"{where} did not answer in time."
    if isinstance(error, ConnectionRefusedError):
        return f"{where} refused the connection."
    if isinstance(error, ssl.SSLError):
        return f"TLS with {where} failed: {error.reason or error}."
    if isinstance(error, socket.gaierror):
        return f"{server.host} could not be found."
    return f"{where}: {error}"
