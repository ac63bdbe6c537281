"""A real SMTP server on loopback (aiosmtpd) that keeps what it receives, plain or with
STARTTLS and AUTH on a self-signed certificate; the app's settings point SMTP_URL at it.
Meetings come from the in-memory provider, synced with a fixed clock."""

from __future__ import annotations

import datetime as dt
import email
import ipaddress
import socket
import ssl
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.policy import default
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from sqlalchemy import select
from sqlalchemy.orm import Session

from calsync.config import Settings
from calsync.db import get_db
from calsync.domain.meeting import Attendee, MeetingData
from calsync.jobs import effects, sync
from calsync.models import OutboxEntry, Prompt, Source, User
from tests.plugins import memory

SMTP_USER = "calsync"
SMTP_PASSWORD = "mail-pass-7Qx"  # the test server's own
BUYER = (Attendee("buyer@prospect.example", "Bea Buyer", "accepted"),)


@dataclass
class Mailbox:
    """What the server received, and how it answers: refuse the recipient, or say busy."""

    url: str = ""
    messages: list[EmailMessage] = field(default_factory=list)
    refuse_recipient: bool = False
    busy: bool = False

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          rcpt_options: list[str]) -> str:
        if self.refuse_recipient:
            return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.busy:
            return "451 4.3.0 Mailbox busy, try again later"
        message = email.message_from_bytes(envelope.content, policy=default)
        assert isinstance(message, EmailMessage)
        self.messages.append(message)
        return f"250 2.0.0 Ok: queued as TEST{len(self.messages)}"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def self_signed(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key, as PEM files."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                 x509.DNSName("localhost")]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]),
                           critical=False)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = directory / "smtp-cert.pem", directory / "smtp-key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def _authenticate(server: Any, session: Any, envelope: Any, mechanism: str,
                  data: Any) -> AuthResult:
    ok = (isinstance(data, LoginPassword) and data.login == SMTP_USER.encode()
          and data.password == SMTP_PASSWORD.encode())
    return AuthResult(success=ok, handled=False)


@pytest.fixture
def mailbox(request: pytest.FixtureRequest, tmp_path: Path,
            monkeypatch: pytest.MonkeyPatch) -> Iterator[Mailbox]:
    """A running server: plain by default, "starttls" (parametrized indirectly) requires
    STARTTLS and AUTH; the system's trust store is this test's certificate then."""
    kind = getattr(request, "param", "plain")
    box, port = Mailbox(), free_port()
    options: dict[str, Any] = {}
    if kind == "starttls":
        cert, key = self_signed(tmp_path)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(cert, key)
        options = {"tls_context": context, "require_starttls": True, "auth_required": True,
                   "authenticator": _authenticate}
        # ssl.create_default_context(), which transport.send uses, reads SSL_CERT_FILE.
        monkeypatch.setenv("SSL_CERT_FILE", str(cert))
        box.url = f"smtp://{SMTP_USER}:{SMTP_PASSWORD}@127.0.0.1:{port}"
    else:
        box.url = f"smtp://127.0.0.1:{port}"
    controller = Controller(box, hostname="127.0.0.1", port=port, **options)
    controller.start()
    yield box
    controller.stop()


@pytest.fixture
def settings(tmp_path: Path, database_url: str, mailbox: Mailbox) -> Settings:
    return Settings.from_env({}, instance_path=tmp_path / "instance", database_url=database_url,
                             secret_key="test-secret", allow_private_urls=True,
                             queue_immediate=True, testing=True, smtp_url=mailbox.url,
                             base_url="https://calsync.example", mail_timeout_seconds=5)


@pytest.fixture
def source(db_session: Session, user: User) -> Iterator[Source]:
    row = Source(user_id=user.id, kind="tests.plugins.memory:MemoryProvider", name="memory",
                 url="", options={}, cursor={}, warnings=[], next_sync_at=dt.datetime.now(dt.UTC))
    db_session.add(row)
    db_session.commit()
    yield row
    memory.CALENDARS.pop(row.id, None)


def meeting(uid: str, end: dt.datetime, title: str = "Demo with Prospect",
            attendees: tuple[Attendee, ...] = BUYER) -> MeetingData:
    return MeetingData(uid=uid, recurrence_id="", title=title, start=end - dt.timedelta(hours=1),
                       end=end, status="confirmed", attendees=attendees)


def meetings_end(session: Session, settings: Settings, source: Source, now: dt.datetime,
                 *held: MeetingData) -> list[Prompt]:
    """The calendar holds `held`; a sync at `now` reads it and prompts what has ended.
    Returns the user's prompts, oldest touch first."""
    memory.CALENDARS[source.id] = list(held)
    sync.sync_source(session, settings, source.id, now=now)
    session.expire_all()
    return list(session.scalars(select(Prompt).where(Prompt.user_id == source.user_id)
                                .order_by(Prompt.touch_at)))


def mail_entries(session: Session) -> list[OutboxEntry]:
    session.expire_all()
    return list(session.scalars(select(OutboxEntry).where(
        OutboxEntry.kind.in_(("prompt_email", "prompt_summary"))).order_by(OutboxEntry.id)))


def process(settings: Settings, entry_id: int, now: dt.datetime) -> OutboxEntry | None:
    """One worker's go at the entry, in a session of its own."""
    with get_db().session() as worker:
        return effects.process(worker, settings, entry_id, now=now)
