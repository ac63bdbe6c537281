"""Fixtures every test shares: settings, an app on a migrated database, users, clients.

Each test gets its own database: a SQLite file by default, or its own PostgreSQL schema
when CALSYNC_TEST_DATABASE_URL is set (see tests/databases.py).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from calsync.app import create_app
from calsync.config import Settings
from calsync.db import get_db
from calsync.models import User
from calsync.services import accounts
from tests import databases, log_capture
from tests.servers.http_files import FileServer

DATA = Path(__file__).parent / "data"
PASSWORD = "correct horse battery"
_session_log = log_capture.SessionLog()


def pytest_sessionstart(session: pytest.Session) -> None:
    """Every log line of the run goes to one file, checked for secrets at the end."""
    _session_log.start()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """A secret in any log line the run wrote fails the run, with the lines shown masked."""
    _session_log.stop()
    leaks = log_capture.leaks(_session_log.lines(), [PASSWORD])
    if not leaks:
        if _session_log.path is not None:
            _session_log.path.unlink(missing_ok=True)
        return
    report = session.config.pluginmanager.get_plugin("terminalreporter")
    write = report.write_line if report is not None else print
    write(f"{len(leaks)} log line(s) of this run hold a secret (all: {_session_log.path}):")
    for line in leaks[:50]:
        write(f"  {line}")
    session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture
def ics() -> Callable[[str], bytes]:
    """The bytes of tests/data/<name>.ics."""

    def read(name: str) -> bytes:
        return (DATA / f"{name}.ics").read_bytes()

    return read


@pytest.fixture
def http_files() -> Iterator[FileServer]:
    """A real HTTP server on 127.0.0.1 serving whatever the test puts on it."""
    with FileServer() as server:
        yield server


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory: pytest.TempPathFactory) -> Path | None:
    if databases.backend() != "sqlite":
        return None  # each PostgreSQL schema is migrated on its own
    return databases.migrated_sqlite_template(tmp_path_factory.mktemp("template"))


@pytest.fixture
def database_url(tmp_path: Path, migrated_template: Path | None) -> Iterator[str]:
    """A migrated database of this test's own."""
    with databases.own_database(tmp_path, True, migrated_template) as url:
        yield url


@pytest.fixture
def empty_database_url(tmp_path: Path) -> Iterator[str]:
    """A database of this test's own with no tables, for migration tests."""
    with databases.own_database(tmp_path, False) as url:
        yield url


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return Settings.from_env(
        {},
        instance_path=tmp_path / "instance",
        database_url=database_url,
        secret_key="test-secret",
        allow_private_urls=True,
        queue_immediate=True,
        testing=True,
    )


@pytest.fixture
def app(settings: Settings) -> Iterator[Flask]:
    app = create_app(settings)
    yield app
    with app.app_context():
        get_db().dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def db_session(app: Flask) -> Iterator[Any]:
    with app.app_context(), get_db().session() as session:
        yield session


@pytest.fixture
def make_user(app: Flask):  # type: ignore[no-untyped-def]
    def make(email: str = "ana@acme-sales.com", timezone: str = "Europe/Berlin") -> User:
        with app.app_context(), get_db().session() as session:
            user = accounts.create_user(session, email, PASSWORD, timezone)
            session.commit()
            return user

    return make


@pytest.fixture
def user(make_user) -> User:  # type: ignore[no-untyped-def]
    return make_user()


def csrf_from(html: str) -> str:
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html) or re.search(
        r'value="([^"]+)"[^>]*name="csrf_token"', html)
    assert match, "page has no CSRF token"
    return match.group(1)


def login(client: FlaskClient, email: str, password: str = PASSWORD) -> None:
    token = csrf_from(client.get("/login").get_data(as_text=True))
    response = client.post("/login", data={"email": email, "password": password,
                                           "csrf_token": token})
    assert response.status_code == 302, response.get_data(as_text=True)


@pytest.fixture
def logged_in(client: FlaskClient, user: User) -> FlaskClient:
    login(client, user.email)
    return client


class ApiClient:
    """The Flask test client with a bearer token on every call."""

    def __init__(self, client: FlaskClient, token: str) -> None:
        self.client = client
        self.headers = {"Authorization": f"Bearer {token}"}

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.client.get(path, headers=self.headers, **kwargs)

    def post(self, path: str, json: Any = None, **kwargs: Any) -> Any:
        return self.client.post(path, json=json, headers=self.headers, **kwargs)

    def patch(self, path: str, json: Any = None, **kwargs: Any) -> Any:
        return self.client.patch(path, json=json, headers=self.headers, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> Any:
        return self.client.delete(path, headers=self.headers, **kwargs)


def api_client_for(app: Flask, client: FlaskClient, user: User) -> ApiClient:
    with app.app_context(), get_db().session() as session:
        _, token = accounts.create_api_token(session, session.get(User, user.id), "tests")
        session.commit()
    return ApiClient(client, token)


@pytest.fixture
def api(app: Flask, client: FlaskClient, user: User) -> ApiClient:
    return api_client_for(app, client, user)
