"""Fetching feed URLs over a real loopback server: errors, limits, redirects, SSRF guards."""

from __future__ import annotations

import socket
import time

import pytest

from calsync import fetch as fetch_module
from calsync.errors import SourceError
from calsync.fetch import fetch, is_public_address, normalize_url

BODY = b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nEND:VCALENDAR\r\n"


def refused(call) -> SourceError:  # type: ignore[no-untyped-def]
    with pytest.raises(SourceError) as caught:
        call()
    return caught.value


def test_fetch_returns_body_validators_and_charset(http_files, make_settings):
    url = http_files.serve("/cal.ics", BODY, etag='"v1"', last_modified="Mon, 03 Mar 2025 "
                           "10:00:00 GMT", content_type="text/calendar; charset=ISO-8859-1")
    result = fetch(url, make_settings())
    assert result.body == BODY and not result.not_modified
    assert (result.etag, result.charset) == ('"v1"', "ISO-8859-1")
    assert result.last_modified == "Mon, 03 Mar 2025 10:00:00 GMT"
    assert http_files.requests[0].headers["User-Agent"].startswith("calsync/")


def test_validators_are_sent_and_304_means_not_modified(http_files, make_settings):
    url = http_files.serve("/cal.ics", BODY, etag='"v1"')
    result = fetch(url, make_settings(), etag='"v1"', last_modified="x")
    assert result.not_modified and result.body is None
    assert http_files.requests[0].headers["If-None-Match"] == '"v1"'
    assert http_files.requests[0].headers["If-Modified-Since"] == "x"


@pytest.mark.parametrize(("status", "transient", "words"), [
    (404, False, "not found"), (410, False, "not found"), (401, False, "refused access"),
    (403, False, "refused access"), (429, True, "slow down"), (500, True, "HTTP 500"),
    (503, True, "HTTP 503"), (400, False, "HTTP 400"),
])
def test_http_errors_give_sentences_and_transient_flags(http_files, make_settings, status,
                                                        transient, words):
    url = http_files.serve("/cal.ics", b"nope", status=status, content_type="text/plain")
    error = refused(lambda: fetch(url, make_settings()))
    assert words in error.message and error.transient is transient
    assert error.hint and "Traceback" not in str(error)


def test_following_redirects_checks_each_hop(http_files, make_settings):
    final = http_files.serve("/final.ics", BODY)
    http_files.redirect("/b", "/final.ics", status=301)  # relative Location
    url = http_files.redirect("/a", http_files.url("/b"), status=307)
    result = fetch(url, make_settings())
    assert result.body == BODY and result.url == final
    assert [r.path for r in http_files.requests] == ["/a", "/b", "/final.ics"]


def test_more_than_five_redirects_is_an_error(http_files, make_settings):
    for hop in range(7):
        http_files.redirect(f"/r{hop}", f"/r{hop + 1}")
    error = refused(lambda: fetch(http_files.url("/r0"), make_settings()))
    assert "more than 5 times" in error.message and not error.transient
    assert len(http_files.requests) == 6


def test_a_redirect_to_another_scheme_is_refused(http_files, make_settings):
    url = http_files.redirect("/a", "file:///etc/passwd")
    error = refused(lambda: fetch(url, make_settings()))
    assert "not file://" in error.message


def test_a_redirect_to_a_private_address_is_refused(http_files, make_settings, monkeypatch):
    # Pretend the test server's address is public, so only the second hop is private.
    monkeypatch.setattr(fetch_module, "is_public_address", lambda address: address == "127.0.0.1")
    url = http_files.redirect("/a", "http://10.0.0.7/internal.ics")
    error = refused(lambda: fetch(url, make_settings(allow_private_urls=False)))
    assert "private or local networks (10.0.0.7)" in error.message
    assert not error.transient
    assert [r.path for r in http_files.requests] == ["/a"]


@pytest.mark.parametrize(("url", "address"), [
    ("http://127.0.0.1:{port}/cal.ics", "127.0.0.1"),
    ("http://10.1.2.3/cal.ics", "10.1.2.3"),
    ("http://169.254.169.254/latest/meta-data/", "169.254.169.254"),
    ("http://[::1]:{port}/cal.ics", "::1"),
    ("http://[::ffff:127.0.0.1]:{port}/cal.ics", "::ffff:127.0.0.1"),
    ("http://localhost:{port}/cal.ics", "localhost is"),
    ("http://2130706433:{port}/cal.ics", "127.0.0.1"),  # 127.0.0.1 as one number
    ("webcal://192.168.1.10/cal.ics", "192.168.1.10"),
])
def test_private_and_local_addresses_are_refused(http_files, make_settings, url, address):
    http_files.serve("/cal.ics", BODY)
    settings = make_settings(allow_private_urls=False)
    error = refused(lambda: fetch(url.format(port=http_files.port), settings))
    assert "does not fetch addresses on private or local networks" in error.message
    assert address in error.message and not error.transient
    assert http_files.requests == []


def test_the_connected_address_is_checked_too(http_files, make_settings, monkeypatch):
    # DNS rebinding: the name looked public when checked, then connects to loopback.
    monkeypatch.setattr(fetch_module, "check_host", lambda host, port: None)
    url = http_files.serve("/cal.ics", BODY)
    error = refused(lambda: fetch(url, make_settings(allow_private_urls=False)))
    assert "private or local networks (127.0.0.1)" in error.message
    assert http_files.requests == []


def test_proxy_settings_in_the_environment_are_ignored(http_files, make_settings, monkeypatch):
    monkeypatch.setenv("http_proxy", "http://127.0.0.1:9")
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    assert fetch(http_files.serve("/cal.ics", BODY), make_settings()).body == BODY


def test_is_public_address():
    assert is_public_address("93.184.216.34") and is_public_address("2606:4700::1111")
    for address in ("127.0.0.1", "10.0.0.1", "172.16.0.1", "192.168.0.1", "169.254.169.254",
                    "100.64.0.1", "0.0.0.0",  # noqa: S104 -- a value judged, not bound
                    "224.0.0.1", "240.0.0.1", "::1", "fe80::1",
                    "fc00::1", "::ffff:10.0.0.1", "2002:7f00:1::", "64:ff9b::a00:1",
                    "64:ff9b::7f00:1", "not an address"):
        assert not is_public_address(address), address


@pytest.mark.parametrize("url", ["ftp://example.com/cal.ics", "file:///etc/passwd",
                                 "example.com/cal.ics", "gopher://x/"])
def test_unsupported_schemes_are_refused(url, make_settings):
    error = refused(lambda: fetch(url, make_settings()))
    assert "only from https://, http:// or webcal://" in error.message and not error.transient


def test_webcal_means_https():
    assert normalize_url("webcal://example.com/a.ics?x=1") == "https://example.com/a.ics?x=1"
    assert normalize_url("WEBCALS://example.com") == "https://example.com/"


def test_a_body_declared_too_large_is_refused_before_reading(http_files, make_settings):
    url = http_files.serve("/big.ics", b"x" * (1 << 20), repeat=21)  # 21 MiB declared
    error = refused(lambda: fetch(url, make_settings()))
    assert "larger than 20 MB" in error.message and not error.transient


def test_a_body_growing_past_the_limit_is_cut_off(http_files, make_settings):
    url = http_files.serve("/big.ics", b"x" * 1000, repeat=50, send_length=False)
    error = refused(lambda: fetch(url, make_settings(fetch_max_bytes=10_000)))
    assert "larger than 10 KB" in error.message and not error.transient


def test_a_stalled_body_times_out(http_files, make_settings):
    url = http_files.serve("/slow.ics", BODY, delay=5)
    started = time.monotonic()
    error = refused(lambda: fetch(url, make_settings(fetch_timeout_seconds=1)))
    assert time.monotonic() - started < 3
    assert "did not arrive within 1 seconds" in error.message and error.transient


def test_a_trickling_body_meets_the_overall_deadline(http_files, make_settings):
    url = http_files.serve("/drip.ics", b"BEGIN:VCALENDAR\r\n" * 100, chunk_size=17,
                           trickle=0.05)  # 100 chunks, 5 s in all, never idle for 1 s
    started = time.monotonic()
    error = refused(lambda: fetch(url, make_settings(fetch_timeout_seconds=1)))
    assert time.monotonic() - started < 3
    assert "did not arrive" in error.message and error.transient


def test_connection_refused_is_transient(make_settings):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    error = refused(lambda: fetch(f"http://127.0.0.1:{port}/cal.ics", make_settings()))
    assert "could not connect to 127.0.0.1" in error.message and error.transient


def test_an_unknown_host_name_is_transient(make_settings):
    error = refused(lambda: fetch("https://calendar.example.invalid/cal.ics", make_settings()))
    assert "calendar.example.invalid could not be found" in error.message and error.transient
