"""The built wheel is the whole service: installed into a bare folder, it serves pages.

The test builds the wheel from a copy of the sources, installs it (not editable) with
`pip install --target`, and runs this file as a script, the probe, in a subprocess whose
working directory is an empty folder and whose PYTHONPATH puts that install first. The
probe watches every file opened (an audit hook), so a read from the checkout is caught.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import threading
import tomllib
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
# What the build needs: the package and the top-level folders its links point into.
SOURCES = ("pyproject.toml", "README.md", "calsync", "web", "config")
PROSPECT_MEETINGS = ("Northwind discovery call", "Product demo for Contoso",
                     "Fabrikam pricing discussion")
PASSWORD = "correct horse battery"


@pytest.fixture(scope="module")
def probe(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """What the installed calsync did, seen from an empty working directory."""
    work = tmp_path_factory.mktemp("wheel")
    wheel = _build_wheel(work)
    site = work / "site"
    _pip("install", "--no-deps", "--no-index", "--quiet", "--target", str(site), str(wheel))
    empty = work / "cwd"
    empty.mkdir()
    script = work / "probe.py"
    shutil.copyfile(__file__, script)  # run from outside the checkout, like everything else
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("CALSYNC_", "PYTHON", "DATABASE_URL", "REDIS_URL"))}
    env["PYTHONPATH"] = str(site)  # dependencies come from this venv's site-packages
    result = subprocess.run(
        [sys.executable, str(script), str(ROOT), str(site), str(work / "data")],
        cwd=empty, env=env, capture_output=True, text=True, timeout=180, check=False)
    assert result.returncode == 0, f"the probe failed:\n{result.stderr[-6000:]}"
    return json.loads(result.stdout.splitlines()[-1])


def test_the_wheel_carries_pages_static_files_and_defaults(probe: dict[str, Any]) -> None:
    site = Path(probe["site"])
    for relative in ("templates/login.html", "static/calsync.css", "defaults/cadence.toml",
                     "migrations/env.py"):
        path = site / "calsync" / relative
        assert path.is_file() and not path.is_symlink(), f"the wheel lacks calsync/{relative}"


def test_calsync_is_imported_from_the_installed_wheel(probe: dict[str, Any]) -> None:
    assert Path(probe["calsync_file"]).is_relative_to(probe["site"]), probe["calsync_file"]


def test_the_sign_in_page_and_its_stylesheet_are_served(probe: dict[str, Any]) -> None:
    assert probe["login"]["status"] == 200
    assert "Sign in" in probe["login"]["body"]
    css = probe["stylesheet"]
    assert css["status"] == 200, css
    assert css["content_type"].startswith("text/css"), css
    assert re.search(r"[\w.#:-]+\s*\{[^}]*:", css["body"]), "the stylesheet has no CSS rule"


def test_the_sample_calendar_loads_and_is_prompted(probe: dict[str, Any]) -> None:
    assert probe["signup_status"] == 200
    sample = probe["sample"]
    assert sample["status"] == 200
    assert "Added the sample calendar" in sample["body"]
    for title in PROSPECT_MEETINGS:
        assert title in sample["body"], f"{title!r} was not prompted"


def test_the_settings_page_renders(probe: dict[str, Any]) -> None:
    assert probe["settings_status"] == 200


def test_the_default_cadence_is_the_shipped_file(probe: dict[str, Any]) -> None:
    from calsync.domain.cadence import Cadence

    expected = Cadence.from_mapping(tomllib.loads((ROOT / "config/cadence.toml").read_text()))
    assert probe["cadence"] == repr(expected)
    shipped = Path(probe["site"]) / "calsync" / "defaults" / "cadence.toml"
    assert str(shipped) in probe["opened_in_site"], "the cadence was not read from the wheel"


def test_nothing_is_read_from_the_checkout(probe: dict[str, Any]) -> None:
    reads = probe["checkout_reads"]
    assert not reads, f"the installed calsync read {len(reads)} path(s) of the checkout: {reads}"


def _build_wheel(work: Path) -> Path:
    """The wheel of a copy of the sources, so no build/ or egg-info lands in the checkout."""
    source = work / "src"
    skip = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
    source.mkdir()
    for name in SOURCES:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, source / name, symlinks=True, ignore=skip)
        else:
            shutil.copy2(ROOT / name, source / name)
    out = work / "dist"
    # No isolation and no index: the build backend comes from this venv (the dev extra).
    _pip("wheel", "--no-deps", "--no-build-isolation", "--no-index", "--quiet",
         "--wheel-dir", str(out), str(source))
    [wheel] = out.glob("calsync-*.whl")
    return wheel


def _pip(*args: str) -> None:
    result = subprocess.run([sys.executable, "-m", "pip", *args], capture_output=True,
                            text=True, timeout=300, check=False)
    assert result.returncode == 0, f"pip {args[0]} failed:\n{result.stdout}\n{result.stderr}"


# --- The probe: this file run as a script by the fixture above, in the subprocess. ---

class _Reads:
    """Every path the process opens or lists, from an audit hook installed before calsync."""

    def __init__(self, checkout: Path, site: Path) -> None:
        self.checkout = str(checkout)
        self.venv = os.path.realpath(sys.prefix)  # the test venv may live in the checkout
        self.site = str(site)
        self.checkout_reads: set[str] = set()
        self.site_reads: set[str] = set()
        sys.addaudithook(self.hook)

    def hook(self, event: str, args: tuple[Any, ...]) -> None:
        if event not in ("open", "os.listdir", "os.scandir") or not args:
            return
        target = args[0]
        if not isinstance(target, str | bytes | os.PathLike):
            return  # a file descriptor, or a listing of the working directory
        path = os.path.realpath(os.fsdecode(os.fspath(target)))
        if path.startswith(self.site + os.sep):
            self.site_reads.add(path)
        elif path.startswith(self.checkout + os.sep) and not path.startswith(self.venv + os.sep):
            self.checkout_reads.add(path)


def _run_probe(checkout: Path, site: Path, data: Path) -> dict[str, Any]:
    reads = _Reads(checkout, site)
    import requests
    from werkzeug.serving import make_server

    import calsync
    from calsync import migrate
    from calsync.app import create_app
    from calsync.config import Settings
    from calsync.services.cadences import base_cadence

    database_url = f"sqlite:///{data / 'calsync.db'}"
    data.mkdir()
    migrate.upgrade(database_url)
    settings = Settings.from_env({}, instance_path=data / "instance", database_url=database_url,
                                 queue_immediate=True)
    server = make_server("127.0.0.1", 0, create_app(settings), threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_port}"
    try:
        with requests.Session() as browser:
            found = _browse(browser, base)
    finally:
        server.shutdown()
    found.update(
        calsync_file=calsync.__file__, site=str(site), cadence=repr(base_cadence(settings)),
        checkout_reads=sorted(reads.checkout_reads), opened_in_site=sorted(reads.site_reads))
    return found


def _browse(browser: Any, base: str) -> dict[str, Any]:
    """Sign-in page and stylesheet, then sign up, add the sample calendar, open settings."""
    login = browser.get(f"{base}/login", timeout=30)
    link = re.search(r'<link rel="stylesheet" href="([^"]+)"', login.text)
    css = browser.get(f"{base}{link.group(1) if link else '/missing-stylesheet'}", timeout=30)
    signup = _post_form(browser, f"{base}/signup", f"{base}/signup", {
        "email": "ana@acme-sales.com", "password": PASSWORD, "timezone": "Europe/Berlin"})
    sample = _post_form(browser, f"{base}/sources", f"{base}/sources/sample", {})
    return {
        "login": {"status": login.status_code, "body": login.text},
        "stylesheet": {"status": css.status_code, "body": css.text[:2000],
                       "content_type": css.headers.get("Content-Type", "")},
        "signup_status": signup.status_code,
        "sample": {"status": sample.status_code, "body": sample.text},
        "settings_status": browser.get(f"{base}/settings", timeout=30).status_code,
    }


def _post_form(browser: Any, page: str, action: str, fields: dict[str, str]) -> Any:
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', browser.get(page, timeout=30).text)
    return browser.post(action, data={**fields, "csrf_token": token.group(1) if token else ""},
                        timeout=60)


if __name__ == "__main__":
    print(json.dumps(_run_probe(*(Path(arg) for arg in sys.argv[1:4]))))
