"""calsync's settings: each declared once (name, type, default, help) and read from the environment.

`Settings.from_env()` builds the one typed object the app, the worker and the CLI share.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from limits import parse_many

from calsync.errors import ConfigError


def _bool(raw: str) -> bool:
    lowered = raw.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off", ""}:
        return False
    raise ValueError("expected 1/0, true/false, yes/no or on/off")


def _positive_int(raw: str) -> int:
    value = int(raw)
    if value <= 0:
        raise ValueError("expected a whole number above zero")
    return value


def _count(raw: str) -> int:
    value = int(raw)
    if value < 0:
        raise ValueError("expected a whole number, 0 or more")
    return value


def _choice(*allowed: str) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        value = raw.strip().lower()
        if value not in allowed:
            raise ValueError(f"expected one of {', '.join(allowed)}")
        return value

    return parse


def _rate_limits(raw: str) -> str:
    """Limits like "5/minute,20/hour": each must hold (no spaces, safe in env files)."""
    try:
        parse_many(raw)
    except ValueError:
        raise ValueError('expected limits like "5/minute,20/hour"') from None
    return raw.strip()


def _smtp_url(raw: str) -> str:
    """smtp:// or smtps:// with a host; empty turns email off."""
    value = raw.strip()
    if not value:
        return ""
    parts = urlsplit(value)
    if parts.scheme not in {"smtp", "smtps"} or not parts.hostname:
        raise ValueError("expected smtp://[user:password@]host[:port] or smtps://…")
    try:
        parts.port  # noqa: B018 - raises for a port that is not a number
    except ValueError:
        raise ValueError("its port is not a number") from None
    return value


def _subscription_hours(raw: str) -> int:
    """Graph keeps an Outlook event subscription at most 10,080 minutes; calsync stays under
    three days so a renewal missed by one scheduler run still lands in time."""
    value = int(raw)
    if not 1 <= value <= 70:
        raise ValueError("expected hours from 1 to 70")
    return value


def _caldav_demo(raw: str) -> str:
    """auto, off, or the bundled server's loopback address (what `calsync run` sets)."""
    value = raw.strip()
    if value.lower() in {"auto", "off"}:
        return value.lower()
    parts = urlsplit(value)
    try:
        port = parts.port
    except ValueError:
        port = None
    if parts.scheme != "http" or parts.hostname != "127.0.0.1" or not port:
        raise ValueError("expected auto, off or http://127.0.0.1:PORT/")
    return value


def _setting(env: str, parse: Callable[[str], Any], default: Any, help: str, *,
             secret: bool = False) -> Any:
    """A setting read from `env`; a `secret` one's value never appears in an error."""
    return field(default=default,
                 metadata={"env": env, "parse": parse, "help": help, "secret": secret})


@dataclass(frozen=True)
class Settings:
    """Every setting calsync reads; `config/calsync.env.example` documents the same list."""

    instance_path: Path = _setting(
        "CALSYNC_INSTANCE_PATH", Path, Path("instance"),
        "Folder for local state: the SQLite database, the queue, generated secrets.")
    database_url: str = _setting(
        "DATABASE_URL", str, "",
        "SQLAlchemy database URL. Empty: a SQLite file instance/calsync.db.")
    redis_url: str = _setting(
        "REDIS_URL", str, "",
        "Redis URL for the job queue. Empty: Huey's SQLite storage in QUEUE_PATH.")
    queue_path: str = _setting(
        "QUEUE_PATH", str, "",
        "SQLite file of the job queue when REDIS_URL is unset. Empty: instance/queue.db.")
    secret_key: str = _setting(
        "SECRET_KEY", str, "",
        "Signs session cookies. Empty: generated once into instance/secret_key.")
    base_url: str = _setting(
        "BASE_URL", str, "http://127.0.0.1:8000",
        "The public address used in every link and feed URL; https makes cookies secure.")
    allow_private_urls: bool = _setting(
        "CALSYNC_ALLOW_PRIVATE_URLS", _bool, False,
        "Allow ICS URLs on loopback or private networks (tests, local use). Off in production.")
    fetch_timeout_seconds: int = _setting(
        "CALSYNC_FETCH_TIMEOUT_SECONDS", _positive_int, 20,
        "Wall-clock seconds allowed for one whole ICS fetch: lookup, connect, TLS, headers, "
        "body and every redirect.")
    add_read_seconds: int = _setting(
        "CALSYNC_ADD_READ_SECONDS", _positive_int, 5,
        "Seconds a calendar added by address is read within the request, so one that is not "
        "a calendar is refused at once; a slower feed is accepted and read in the background.")
    fetch_max_bytes: int = _setting(
        "CALSYNC_FETCH_MAX_BYTES", _positive_int, 20 * 1024 * 1024,
        "Largest ICS body accepted, in bytes (default 20 MB).")
    window_past_days: int = _setting(
        "CALSYNC_WINDOW_PAST_DAYS", _positive_int, 30,
        "How far back meetings are read.")
    window_future_days: int = _setting(
        "CALSYNC_WINDOW_FUTURE_DAYS", _positive_int, 120,
        "How far ahead meetings are read.")
    max_occurrences_per_series: int = _setting(
        "CALSYNC_MAX_OCCURRENCES_PER_SERIES", _positive_int, 5000,
        "Most occurrences one recurring event may produce inside the window.")
    max_meetings_per_source: int = _setting(
        "CALSYNC_MAX_MEETINGS_PER_SOURCE", _positive_int, 20_000,
        "Most meetings one source may hold inside the window (a busy shared calendar holds "
        "a few thousand; more is a flood, kept to this with a warning).")
    max_attendees_per_meeting: int = _setting(
        "CALSYNC_MAX_ATTENDEES_PER_MEETING", _positive_int, 50,
        "Most attendees stored per meeting; the rest are counted, and the calendar owner "
        "and one person per company are kept first.")
    max_attendees_per_sync: int = _setting(
        "CALSYNC_MAX_ATTENDEES_PER_SYNC", _positive_int, 100_000,
        "Most attendee entries one sync of a source stores; past it, each further meeting "
        "keeps only the calendar owner and a few people (with a warning on the source).")
    max_prompts_per_sync: int = _setting(
        "CALSYNC_MAX_PROMPTS_PER_SYNC", _positive_int, 300,
        "Most prompts one sync (or one minute tick) creates for a user; the rest follow on "
        "later ticks, within the daily limit.")
    max_prompts_per_user_per_day: int = _setting(
        "CALSYNC_MAX_PROMPTS_PER_USER_PER_DAY", _positive_int, 500,
        "Most prompts a user gets in 24 hours; meetings past it get no prompt, and their "
        "calendar a warning.")
    max_sources_per_user: int = _setting(
        "CALSYNC_MAX_SOURCES_PER_USER", _positive_int, 20,
        "Most calendars one user may connect.")
    sqlite_busy_timeout_seconds: int = _setting(
        "CALSYNC_SQLITE_BUSY_TIMEOUT_SECONDS", _positive_int, 15,
        "How long a SQLite write waits for another one to finish before failing.")
    sync_interval_minutes: int = _setting(
        "CALSYNC_SYNC_INTERVAL_MINUTES", _positive_int, 15,
        "How often every source is synced.")
    sync_retry_max_hours: int = _setting(
        "CALSYNC_SYNC_RETRY_MAX_HOURS", _positive_int, 24,
        "Longest wait before retrying a calendar that keeps failing the same way; the wait "
        "doubles from the sync interval up to this.")
    prompt_grace_minutes: int = _setting(
        "CALSYNC_PROMPT_GRACE_MINUTES", int, 10,
        "Minutes after a meeting ends before its prompt appears.")
    prompt_lookback_days: int = _setting(
        "CALSYNC_PROMPT_LOOKBACK_DAYS", _positive_int, 14,
        "Meetings that ended longer ago than this are imported but not prompted.")
    cadence_path: str = _setting(
        "CALSYNC_CADENCE_PATH", str, "",
        "A cadence TOML file replacing the bundled config/cadence.toml.")
    sync_lock_seconds: int = _setting(
        "CALSYNC_SYNC_LOCK_SECONDS", _positive_int, 600,
        "How long a worker holds a source it syncs; a worker that dies frees it after this.")
    outbox_lease_seconds: int = _setting(
        "CALSYNC_OUTBOX_LEASE_SECONDS", _positive_int, 300,
        "How long a worker holds a calendar write; one that dies mid-write frees it after this.")
    webhook_timeout_seconds: int = _setting(
        "CALSYNC_WEBHOOK_TIMEOUT_SECONDS", _positive_int, 10,
        "Wall-clock seconds one webhook delivery may take (connect, send, the answer); "
        "slower counts as a failed attempt, retried later.")
    webhook_slots: int = _setting(
        "CALSYNC_WEBHOOK_SLOTS", _positive_int, 4,
        "Webhook deliveries one worker process sends at once, on threads of their own, one "
        "at a time per webhook (a CRM that hangs holds one slot, never the job queue).")
    webhook_disable_days: int = _setting(
        "CALSYNC_WEBHOOK_DISABLE_DAYS", _positive_int, 3,
        "A webhook whose deliveries have all failed for this many days is disabled (the "
        "settings page says so and why).")
    queue_name: str = _setting(
        "CALSYNC_QUEUE_NAME", str, "calsync",
        "Name of the job queue; deployments sharing one Redis need different names.")
    db_pool_size: int = _setting(
        "CALSYNC_DB_POOL_SIZE", _positive_int, 5,
        "Database connections each process keeps open (PostgreSQL); web processes x "
        "(this + overflow) must stay under the server's max_connections.")
    web_threads: int = _setting(
        "CALSYNC_WEB_THREADS", _positive_int, 8,
        "Threads of each gunicorn worker (calsync run, the Procfile's web line).")
    web_request_seconds: int = _setting(
        "CALSYNC_WEB_REQUEST_SECONDS", _positive_int, 60,
        "Seconds a client has to send one whole request (head and body, an upload too) "
        "before its connection is closed.")
    log_format: str = _setting(
        "CALSYNC_LOG_FORMAT", _choice("json", "text"), "json",
        "json: one JSON object per log line, with the request id; text: for reading.")
    log_file: str = _setting(
        "CALSYNC_LOG_FILE", str, "",
        "A file every calsync process (web, access log, worker) also appends its log lines "
        "to; empty: stderr only. Lines are scrubbed of secrets either way.")
    queue_immediate: bool = _setting(
        "CALSYNC_QUEUE_IMMEDIATE", _bool, False,
        "Run background jobs inline instead of on a worker (tests, debugging).")
    worker_threads: int = _setting(
        "CALSYNC_WORKER_THREADS", _positive_int, 2,
        "Threads of one Huey consumer.")
    sync_slots: int = _setting(
        "CALSYNC_SYNC_SLOTS", _positive_int, 4,
        "Syncs one worker process runs at once, on threads of their own (a slow calendar "
        "server holds one slot, never the job queue).")
    sync_slots_per_user: int = _setting(
        "CALSYNC_SYNC_SLOTS_PER_USER", _positive_int, 2,
        "Most sync slots one user's sources hold at once; the rest wait their turn.")
    google_client_id: str = _setting(
        "GOOGLE_CLIENT_ID", str, "",
        "OAuth client id of your Google Cloud project. Empty: Google connects to the emulator.")
    google_client_secret: str = _setting(
        "GOOGLE_CLIENT_SECRET", str, "",
        "OAuth client secret of your Google Cloud project.")
    google_api_endpoint: str = _setting(
        "CALSYNC_GOOGLE_API_ENDPOINT", str, "https://www.googleapis.com/calendar/v3/",
        "Base URL of the Calendar API v3 (an emulator's, in tests and demos).")
    google_auth_uri: str = _setting(
        "CALSYNC_GOOGLE_AUTH_URI", str, "https://accounts.google.com/o/oauth2/auth",
        "Google's OAuth authorization endpoint.")
    google_token_uri: str = _setting(
        "CALSYNC_GOOGLE_TOKEN_URI", str, "https://oauth2.googleapis.com/token",
        "Google's OAuth token endpoint.")
    google_revoke_uri: str = _setting(
        "CALSYNC_GOOGLE_REVOKE_URI", str, "https://oauth2.googleapis.com/revoke",
        "Google's OAuth token revocation endpoint.")
    google_webhooks: str = _setting(
        "CALSYNC_GOOGLE_WEBHOOKS", _choice("auto", "on", "off"), "auto",
        "Push notifications from Google: auto (on when BASE_URL is https), on or off.")
    microsoft_client_id: str = _setting(
        "MICROSOFT_CLIENT_ID", str, "",
        "Application (client) id of your Microsoft Entra app. Empty: Microsoft 365 / Outlook "
        "connects to the emulator (demo mode).")
    microsoft_client_secret: str = _setting(
        "MICROSOFT_CLIENT_SECRET", str, "",
        "Client secret of your Microsoft Entra app.", secret=True)
    microsoft_tenant: str = _setting(
        "MICROSOFT_TENANT", str, "common",
        "Who may connect: common (work, school and Outlook.com accounts), organizations, "
        "consumers, or one tenant's id.")
    microsoft_authority_host: str = _setting(
        "CALSYNC_MICROSOFT_AUTHORITY_HOST", str, "https://login.microsoftonline.com",
        "The identity platform (https); the authority is <host>/<tenant>, its "
        "/v2.0/.well-known/openid-configuration read for the endpoints.")
    microsoft_graph_endpoint: str = _setting(
        "CALSYNC_MICROSOFT_GRAPH_ENDPOINT", str, "https://graph.microsoft.com/v1.0/",
        "Base URL of Microsoft Graph (an emulator's, in tests and demos).")
    microsoft_webhooks: str = _setting(
        "CALSYNC_MICROSOFT_WEBHOOKS", _choice("auto", "on", "off"), "auto",
        "Change notifications from Microsoft Graph: auto (on when BASE_URL is https), on or "
        "off.")
    microsoft_ca_bundle: str = _setting(
        "CALSYNC_MICROSOFT_CA_BUNDLE", str, "",
        "A PEM file of certificates trusted, besides the system's, for the authority and "
        "Graph (an emulator's CA); verification is never switched off.")
    microsoft_subscription_hours: int = _setting(
        "CALSYNC_MICROSOFT_SUBSCRIPTION_HOURS", _subscription_hours, 48,
        "Hours a Graph change-notification subscription is asked to last (1 to 70; Graph "
        "allows calendars just under 3 days); renewed before it ends.")
    caldav_demo: str = _setting(
        "CALSYNC_CALDAV_DEMO", _caldav_demo, "auto",
        "Demo CalDAV server: auto (`calsync run` starts the bundled Radicale on a free "
        "loopback port, a demo account with a Sales calendar, and sets this to its address), "
        "off, or http://127.0.0.1:PORT/ (the Calendars page offers it; only that address "
        "passes the private-address check, for CalDAV only).")
    encryption_keys: str = _setting(
        "CALSYNC_ENCRYPTION_KEYS", str, "",
        "Comma-separated Fernet keys for tokens at rest; the first encrypts, all decrypt. "
        "Empty: generated once into instance/encryption_keys.")
    reminder_minutes: int = _setting(
        "CALSYNC_REMINDER_MINUTES", int, 10,
        "Minutes before a follow-up written to a calendar (Google, Microsoft, CalDAV) that "
        "its reminder fires.")
    trusted_proxies: int = _setting(
        "CALSYNC_TRUSTED_PROXIES", _count, 0,
        "Reverse proxies in front of calsync that set X-Forwarded-For/-Proto; 0 trusts none.")
    session_days: int = _setting(
        "CALSYNC_SESSION_DAYS", _positive_int, 30,
        "Days a sign-in lasts, \"remember me\" included; signing out ends it sooner.")
    rate_limit_signin_account: str = _setting(
        "CALSYNC_RATE_LIMIT_SIGNIN_ACCOUNT", _rate_limits, "5/minute,20/hour,50/day",
        "Failed sign-ins allowed per account; each window must hold, so waits grow.")
    rate_limit_signin_address: str = _setting(
        "CALSYNC_RATE_LIMIT_SIGNIN_ADDRESS", _rate_limits, "20/minute,200/hour",
        "Sign-in attempts (password or Google) allowed per client address.")
    rate_limit_signup_address: str = _setting(
        "CALSYNC_RATE_LIMIT_SIGNUP_ADDRESS", _rate_limits, "5/minute,30/hour",
        "Sign-up attempts allowed per client address.")
    rate_limit_feed: str = _setting(
        "CALSYNC_RATE_LIMIT_FEED", _rate_limits, "60/minute,600/hour",
        "Requests allowed per feed address; calendar apps poll far less often.")
    rate_limit_answer_link: str = _setting(
        "CALSYNC_RATE_LIMIT_ANSWER_LINK", _rate_limits, "30/minute,300/hour",
        "Requests to answer links (from prompt emails) allowed per client address.")
    smtp_url: str = _setting(
        "SMTP_URL", _smtp_url, "",
        "Where prompt and digest emails go: smtp://user:password@host:587 (STARTTLS), "
        "smtps://user:password@host:465 (TLS) or smtp://host:25 (no auth). Empty: calsync "
        "sends no email.", secret=True)
    mail_from: str = _setting(
        "CALSYNC_MAIL_FROM", str, "",
        "The From of calsync's emails. Empty: calsync <calsync@the host of BASE_URL>.")
    mail_timeout_seconds: int = _setting(
        "CALSYNC_MAIL_TIMEOUT_SECONDS", _positive_int, 30,
        "Seconds allowed to connect to the SMTP server and hand it one email.")
    answer_link_days: int = _setting(
        "CALSYNC_ANSWER_LINK_DAYS", _positive_int, 14,
        "Days an answer link in an email or a calendar event keeps working.")
    testing: bool = False
    extra: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Read every declared setting from `env` (default: os.environ); overrides win."""
        env = os.environ if env is None else env
        values: dict[str, Any] = {}
        for spec in fields(cls):
            name = spec.metadata.get("env")
            if name is None or name not in env:
                continue
            try:
                values[spec.name] = spec.metadata["parse"](env[name])
            except ValueError as exc:
                shown = "the value" if spec.metadata["secret"] else repr(env[name])
                raise ConfigError(name, f"{shown} is not valid: {exc}") from None
        values.update(overrides)
        return cls(**values).resolved()

    def resolved(self) -> Settings:
        """Fill the settings that default to files under the instance folder."""
        instance = self.instance_path.resolve()
        changes: dict[str, Any] = {"instance_path": instance}
        if not self.database_url:
            changes["database_url"] = f"sqlite:///{instance / 'calsync.db'}"
        if not self.queue_path:
            changes["queue_path"] = str(instance / "queue.db")
        return replace(self, **changes)

    @property
    def is_https(self) -> bool:
        return self.base_url.startswith("https://")

    @property
    def google_push(self) -> bool:
        """Google only calls https webhooks; `auto` turns push on exactly when we have one."""
        return self.google_webhooks == "on" or (self.google_webhooks == "auto" and self.is_https)

    @property
    def microsoft_push(self) -> bool:
        """Graph only calls https notification URLs: `auto` turns push on when we have one."""
        return self.microsoft_webhooks == "on" or (self.microsoft_webhooks == "auto"
                                                   and self.is_https)

    @property
    def caldav_demo_address(self) -> tuple[str, int] | None:
        """The running demo CalDAV server's (host, port), exempt from the address guard."""
        parts = urlsplit(self.caldav_demo)
        return (parts.hostname, parts.port) if parts.hostname and parts.port else None

    @property
    def caldav_demo_folder(self) -> Path:
        """The demo CalDAV server's storage, its users file and the demo password."""
        return self.instance_path / "caldav-demo"

    @property
    def mail_sender(self) -> str:
        """The From address: CALSYNC_MAIL_FROM, else calsync at the host of BASE_URL."""
        return self.mail_from or f"calsync <calsync@{urlsplit(self.base_url).hostname}>"

    def load_secret_key(self) -> str:
        """The configured key, else one generated once into the instance folder."""
        if self.secret_key:
            return self.secret_key
        path = self.instance_path / "secret_key"
        if not path.exists():
            self.instance_path.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_urlsafe(48))
            path.chmod(0o600)
        return path.read_text().strip()


def documented_settings() -> list[tuple[str, str, str]]:
    """(environment variable, default, help) for every setting, for docs and `calsync config`."""
    rows = []
    for spec in fields(Settings):
        if "env" in spec.metadata:
            rows.append((spec.metadata["env"], str(spec.default), spec.metadata["help"]))
    return rows
