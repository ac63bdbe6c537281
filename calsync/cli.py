"""The `calsync` command: run the service, migrate, sync, and set up users and tokens by script.

Results a script needs (a token) go to stdout, alone; everything said to a person goes to stderr.
"""

from __future__ import annotations

import importlib.util
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import click
from flask import Flask

from calsync import logs, migrate
from calsync.app import create_app
from calsync.config import Settings, documented_settings
from calsync.db import get_db
from calsync.domain.vocabulary import SyncResult
from calsync.errors import CalsyncError
from calsync.jobs import queue
from calsync.services import accounts, sources


def _say(message: str) -> None:
    click.echo(message, err=True)


def _app() -> Flask:
    try:
        return create_app()
    except CalsyncError as error:
        raise click.ClickException(str(error)) from error


@click.group()
def main() -> None:
    """calsync: asks how each meeting went and plans the next touch."""
    log_format = os.environ.get("CALSYNC_LOG_FORMAT", "json")
    logs.configure(log_format if log_format in ("json", "text") else "json",
                   os.environ.get("LOG_LEVEL", "INFO"))


@main.group()
def db() -> None:
    """Database schema commands."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Apply every migration the database lacks (the Procfile's release step)."""
    settings = Settings.from_env()
    settings.instance_path.mkdir(parents=True, exist_ok=True)
    migrate.upgrade(settings.database_url)
    _say("Database is up to date.")


@main.group()
def users() -> None:
    """Manage user accounts."""


@users.command("create")
@click.argument("email")
@click.option("--password", help="Leave out to be asked (or to create a password-less account "
                                 "with --no-password).")
@click.option("--no-password", is_flag=True, help="Create the account without a password.")
@click.option("--timezone", "timezone", default="UTC", show_default=True,
              help="IANA time zone, e.g. Europe/Berlin.")
def users_create(email: str, password: str | None, no_password: bool, timezone: str) -> None:
    """Create a user account."""
    if password is None and not no_password:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True, err=True)
    app = _app()
    with app.app_context(), get_db().session() as session:
        try:
            user = accounts.create_user(session, email, password, timezone)
        except CalsyncError as error:
            raise click.ClickException(str(error)) from error
        _say(f"Created user {user.email} (id {user.id}, time zone {user.timezone}).")


@main.group()
def tokens() -> None:
    """Manage personal API tokens."""


@tokens.command("create")
@click.argument("email")
@click.option("--name", default="cli", show_default=True, help="A label shown in settings.")
def tokens_create(email: str, name: str) -> None:
    """Create an API token for EMAIL and print it (only it) on stdout."""
    app = _app()
    with app.app_context(), get_db().session() as session:
        try:
            user = accounts.user_by_email(session, email)
        except CalsyncError as error:
            raise click.ClickException(str(error)) from error
        _, plaintext = accounts.create_api_token(session, user, name)
    _say(f"Created an API token for {email}; it is shown only this once.")
    click.echo(plaintext)


@main.command()
@click.option("--user", "email", help="Only this user's sources.")
@click.option("--source", "source_id", type=int, help="Only this source.")
def sync(email: str | None, source_id: int | None) -> None:
    """Sync sources now, in this process, with a progress bar."""
    from calsync.jobs import sync as syncing
    app = _app()
    settings: Settings = app.extensions["calsync.settings"]
    with app.app_context(), get_db().session() as session:
        try:
            ids = sources.source_ids(session, email=email, source_id=source_id)
        except CalsyncError as error:
            raise click.ClickException(str(error)) from error
        if not ids:
            raise click.ClickException("No sources match.")
        failures = 0
        with click.progressbar(ids, label="Syncing", file=sys.stderr) as bar:
            reports = [syncing.sync_source(session, settings, sid) for sid in bar]
        for report in reports:
            _say(f"source {report.source_id}: {report.result} (+{report.added} "
                 f"~{report.updated} -{report.cancelled}, {report.prompts} new prompts)"
                 + (f": {report.error}" if report.error else ""))
            failures += report.result is SyncResult.ERROR
    if failures:
        sys.exit(1)


@main.command()
def worker() -> None:
    """Run a background worker (the Huey consumer) alone."""
    from huey.consumer import Consumer

    app = _app()
    settings: Settings = app.extensions["calsync.settings"]
    huey = app.extensions["calsync.queue"].huey
    queue.start_slots(app)  # syncs and webhook deliveries on slots of their own
    Consumer(huey, workers=settings.worker_threads, worker_type="thread",
             periodic=True, check_worker_health=True).run()


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
def run(host: str, port: int) -> None:
    """Start web and worker together (what `make run` calls); migrates SQLite first."""
    settings = Settings.from_env()
    settings.instance_path.mkdir(parents=True, exist_ok=True)
    if settings.database_url.startswith("sqlite"):
        migrate.upgrade(settings.database_url)
    settings.load_secret_key()  # generate it once, before two processes race to
    env = {**os.environ, "CALSYNC_INSTANCE_PATH": str(settings.instance_path)}
    # Unless a public address is configured, links and feed URLs point where we listen.
    env.setdefault("BASE_URL", f"http://{host}:{port}")
    bin_dir = os.path.dirname(sys.executable)
    # Both commands are our own executables beside this interpreter, with fixed arguments.
    # Threaded workers with a request deadline (calsync/gunicorn_conf.py): slow clients
    # can't hold every worker the way they hold gunicorn's default sync workers.
    gunicorn = [os.path.join(bin_dir, "gunicorn"), "-c", "python:calsync.gunicorn_conf",
                "--workers", "2", "--bind", f"{host}:{port}",
                "--access-logfile", "-", "--logger-class", "calsync.logs.GunicornLogger",
                "calsync.wsgi:app"]
    processes = []
    if not settings.google_client_id and "CALSYNC_GOOGLE_API_ENDPOINT" not in os.environ:
        processes.append(_demo_google(env, bin_dir))
    if not settings.microsoft_client_id and "CALSYNC_MICROSOFT_AUTHORITY_HOST" not in os.environ:
        processes.append(_demo_microsoft(env, bin_dir, settings.instance_path))
    if settings.caldav_demo == "auto":
        processes += _demo_caldav(env, bin_dir, settings.caldav_demo_folder / "port")
    processes += [
        subprocess.Popen(gunicorn, env=env),  # noqa: S603
        subprocess.Popen([os.path.join(bin_dir, "calsync"), "worker"], env=env),  # noqa: S603
    ]
    _say(f"calsync is running on http://{host}:{port}/ (Ctrl-C stops it)")
    _supervise(processes)


def _demo_google(env: dict[str, str], bin_dir: str) -> subprocess.Popen[bytes]:
    """Demo mode: with no Google client configured, "Connect Google Calendar" goes to the
    bundled emulator (a demo account with a sample sales calendar) on a free port."""
    port = _free_port()
    google = f"http://127.0.0.1:{port}"
    env.update({"CALSYNC_GOOGLE_API_ENDPOINT": f"{google}/calendar/v3/",
                "CALSYNC_GOOGLE_AUTH_URI": f"{google}/o/oauth2/auth",
                "CALSYNC_GOOGLE_TOKEN_URI": f"{google}/token",
                "CALSYNC_GOOGLE_REVOKE_URI": f"{google}/revoke"})
    # The emulator, unlike Google, calls plain-http webhooks: changes arrive at once.
    env.setdefault("CALSYNC_GOOGLE_WEBHOOKS", "on")
    _say(f"Demo mode: Google Calendar is the bundled emulator on {google} "
         "(set GOOGLE_CLIENT_ID and GOOGLE_CLIENT_SECRET to use real Google).")
    return subprocess.Popen(  # noqa: S603 - our own executable, fixed arguments
        [os.path.join(bin_dir, "calsync"), "google-emulator", "--port", str(port)], env=env)


def _demo_microsoft(env: dict[str, str], bin_dir: str,
                    instance: Path) -> subprocess.Popen[bytes]:
    """Demo mode: with no Microsoft client configured, "Connect Microsoft 365 / Outlook"
    goes to the bundled emulator on a free port. msal speaks only TLS: the emulator makes
    a CA at start and writes it where CALSYNC_MICROSOFT_CA_BUNDLE points; the consent page,
    the one a person's browser opens, is also served over plain HTTP so it shows no warning."""
    port = _free_port()
    browser_port = _free_port()
    while browser_port == port:
        browser_port = _free_port()
    ca_file = instance / "microsoft-emulator-ca.pem"
    ca_file.unlink(missing_ok=True)  # the last run's CA: this emulator makes a new one
    microsoft = f"https://127.0.0.1:{port}"
    env.update({"CALSYNC_MICROSOFT_AUTHORITY_HOST": microsoft,
                "CALSYNC_MICROSOFT_GRAPH_ENDPOINT": f"{microsoft}/v1.0/",
                "CALSYNC_MICROSOFT_CA_BUNDLE": str(ca_file)})
    # The emulator, unlike Graph, calls plain-http webhooks: changes arrive at once.
    env.setdefault("CALSYNC_MICROSOFT_WEBHOOKS", "on")
    _say(f"Demo mode: Microsoft 365 / Outlook is the bundled emulator on {microsoft} "
         "(set MICROSOFT_CLIENT_ID and MICROSOFT_CLIENT_SECRET to use real Microsoft).")
    return subprocess.Popen(  # noqa: S603 - our own executable, fixed arguments
        [os.path.join(bin_dir, "calsync"), "microsoft-emulator", "--port", str(port),
         "--ca-file", str(ca_file), "--browser-port", str(browser_port)], env=env)


def _demo_caldav(env: dict[str, str], bin_dir: str,
                 remembered: Path) -> list[subprocess.Popen[bytes]]:
    """Demo mode: the Calendars page offers the bundled Radicale (user "demo", a Sales
    calendar) on a free port; its exact address alone passes the private-address check."""
    if importlib.util.find_spec("radicale") is None:
        _say("Demo mode: no CalDAV demo (radicale is not installed: pip install -e '.[dev]').")
        return []
    # The last run's port when still free: a connected demo source stores its address.
    last = remembered.read_text().strip() if remembered.exists() else ""
    port = int(last) if last.isdigit() and _is_free(int(last)) else _free_port()
    remembered.parent.mkdir(parents=True, exist_ok=True)
    remembered.write_text(str(port))
    env["CALSYNC_CALDAV_DEMO"] = f"http://127.0.0.1:{port}/"
    _say(f"Demo mode: a CalDAV server (Radicale) with a demo account is on "
         f"http://127.0.0.1:{port}/ (CALSYNC_CALDAV_DEMO=off leaves it out).")
    return [subprocess.Popen(  # noqa: S603 - our own executable, fixed arguments
        [os.path.join(bin_dir, "calsync"), "caldav-demo", "--port", str(port)], env=env)]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _is_free(port: int) -> bool:
    with socket.socket() as probe:
        # As servers bind: a port whose last connections linger in TIME_WAIT is free.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _supervise(processes: list[subprocess.Popen[bytes]]) -> None:
    """Wait until one process ends or we are told to stop; then stop them all."""
    stopping = False

    def stop(_signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    while not stopping and all(p.poll() is None for p in processes):
        time.sleep(0.5)
    for process in processes:
        if process.poll() is None:
            process.terminate()
    for process in processes:
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
    codes = [p.returncode for p in processes]
    sys.exit(0 if stopping else max(abs(c or 0) for c in codes) or 1)


@main.group()
def mail() -> None:
    """Email through the server SMTP_URL names."""


@mail.command("test")
@click.argument("email")
def mail_test(email: str) -> None:
    """Send a test email to EMAIL now and print the mail server's answer (only it) on stdout."""
    from datetime import UTC, datetime

    from calsync.mail import messages, transport

    settings: Settings = _app().extensions["calsync.settings"]
    if not transport.enabled(settings):
        raise click.ClickException("SMTP_URL is not set, so calsync sends no email.")
    try:
        answer = transport.send(settings, messages.check_email(settings, email,
                                                               datetime.now(UTC)))
    except CalsyncError as error:
        raise click.ClickException(str(error)) from error
    _say(f"The mail server took the test email to {email}.")
    click.echo(answer)


@main.command("digest")
@click.option("--user", "email", required=True, help="Whose digest.")
@click.option("--send", is_flag=True, help="Email it now and print the mail server's answer.")
def digest_command(email: str, send: bool) -> None:
    """Print a user's daily coach email as text on stdout, or send it now."""
    from calsync.jobs import digest
    from calsync.mail import transport
    from calsync.services import prompt_mail

    app = _app()
    settings: Settings = app.extensions["calsync.settings"]
    if send and not transport.enabled(settings):
        raise click.ClickException("SMTP_URL is not set, so calsync sends no email.")
    with app.app_context(), get_db().session() as session:
        try:
            user = accounts.user_by_email(session, email)
            message = digest.digest_today(session, settings, user)
            if not send:
                click.echo(digest.text_of(message), nl=False)
                return
            answer = prompt_mail.hand_over(session, settings, user, message)
        except CalsyncError as error:
            raise click.ClickException(str(error)) from error
    _say(f"The mail server took {user.email}'s digest.")
    click.echo(answer)


@main.command("config")
def show_config() -> None:
    """List every setting, its environment variable and default."""
    for env, default, help_text in documented_settings():
        click.echo(f"{env}={default}\n    {help_text}")


@main.command("google-emulator")
@click.option("--port", default=9100, show_default=True, type=int)
@click.option("--host", default="127.0.0.1", show_default=True)
def google_emulator(port: int, host: str) -> None:
    """Run the Google Calendar + OAuth emulator alone (tests, demos, offline development)."""
    from calsync.emulator import serve_forever

    serve_forever(port, host=host)


@main.command("caldav-demo")
@click.option("--port", default=5232, show_default=True, type=int)
def caldav_demo(port: int) -> None:
    """Run the demo CalDAV server (Radicale on 127.0.0.1, user "demo", a Sales calendar),
    its storage and password under the instance folder."""
    from calsync.emulator import caldav_demo as demo

    demo.serve_forever(Settings.from_env(), port)


@main.command("microsoft-emulator")
@click.option("--port", default=9200, show_default=True, type=int)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--ca-file", type=click.Path(dir_okay=False, writable=True), default=None,
              help="Also write the emulator's CA certificate (PEM) here: what "
                   "CALSYNC_MICROSOFT_CA_BUNDLE should name.")
@click.option("--browser-port", type=int, default=None,
              help="Also serve the consent page over plain HTTP on this port, for browsers "
                   "that don't trust the emulator's CA (a demo).")
def microsoft_emulator(port: int, host: str, ca_file: str | None,
                       browser_port: int | None) -> None:
    """Run the Microsoft Graph + identity platform emulator alone, over TLS with a CA made
    at start (tests, demos, offline development)."""
    from pathlib import Path

    from calsync.emulator.microsoft import serve_forever

    serve_forever(port, host=host, ca_file=Path(ca_file) if ca_file else None,
                  browser_port=browser_port)
