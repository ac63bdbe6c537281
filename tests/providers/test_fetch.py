"""Fetching feed URLs over a real loopback server: errors, limits, redirects, SSRF guards."""

from __future__ import annotations

import ipaddress
import socket
import threading
import time
from collections.abc import Callable

import pytest

from calsync.errors import SourceError
from calsync.net import guarded_http
from calsync.net.fetch import fetch, is_public_address, normalize_url
from tests.servers.slow_http import SlowServer

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
    monkeypatch.setattr(guarded_http, "is_public_address", lambda address: address == "127.0.0.1")
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
    url = http_files.serve("/slow.ics", BODY, delay=60)
    started = time.monotonic()
    error = refused(lambda: fetch(url, make_settings(fetch_timeout_seconds=1)))
    # 1 s allowed: generous for a loaded machine, and far short of the 60 s stall.
    assert time.monotonic() - started < 20
    assert "did not arrive within 1 seconds" in error.message and error.transient


def test_a_trickling_body_meets_the_overall_deadline(http_files, make_settings):
    url = http_files.serve("/drip.ics", b"BEGIN:VCALENDAR\r\n" * 1200, chunk_size=17,
                           trickle=0.05)  # 1200 chunks, 60 s in all, never idle for 1 s
    started = time.monotonic()
    error = refused(lambda: fetch(url, make_settings(fetch_timeout_seconds=1)))
    # 1 s allowed: generous for a loaded machine, and far short of the 60 s drip.
    assert time.monotonic() - started < 20
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


# --- The deadline covers the whole exchange: connect, TLS, headers, body, every redirect ---

def finishes(call: Callable[[], object], within: float) -> BaseException | None:
    """Run `call` on a thread; fail if it is still running after `within` seconds.

    A regression then fails here instead of hanging the suite (the test's server closing
    afterwards ends the stuck call too). Returns what `call` raised, if anything.
    """
    outcome: list[BaseException | None] = []

    def run() -> None:
        try:
            call()
            outcome.append(None)
        except BaseException as error:  # handed to the test to judge
            outcome.append(error)

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(within)
    assert outcome, f"still running after {within} s"
    return outcome[0]


def test_headers_trickled_one_byte_at_a_time_meet_the_deadline(make_settings):
    with SlowServer(b"HTTP/1.1 200 OK\r\nX-Drip: ", interval=0.05) as server:
        settings = make_settings(fetch_timeout_seconds=1)
        error = finishes(lambda: fetch(server.url("/cal.ics"), settings), within=20)
        assert server.connections == 1
    assert isinstance(error, SourceError)
    assert "did not arrive within 1 seconds" in error.message and error.transient


def test_a_tls_handshake_that_never_completes_meets_the_deadline(make_settings):
    # A TLS handshake record announcing 16 KB, then one byte at a time.
    with SlowServer(b"\x16\x03\x03\x40\x00", interval=0.05, read_request=False) as server:
        settings = make_settings(fetch_timeout_seconds=1)
        error = finishes(lambda: fetch(server.url("/cal.ics", "https"), settings), within=20)
    assert isinstance(error, SourceError)
    assert "did not arrive within 1 seconds" in error.message and error.transient


def test_the_deadline_spans_every_redirect_hop(make_settings):
    # Each hop's redirect arrives complete, but slowly (about 0.7 s): three of them take
    # longer than the 1 s the whole fetch may last, though no single read waits long.
    redirect = b"HTTP/1.1 302 Found\r\nLocation: /again\r\nContent-Length: 0\r\n\r\n"
    with SlowServer(redirect, filler=b"", interval=0.7 / len(redirect)) as server:
        settings = make_settings(fetch_timeout_seconds=1)
        error = finishes(lambda: fetch(server.url("/cal.ics"), settings), within=20)
        assert server.connections <= 2
    assert isinstance(error, SourceError)
    assert "did not arrive within 1 seconds" in error.message and error.transient


def test_a_name_lookup_that_hangs_meets_the_deadline(make_settings, monkeypatch):
    real = socket.getaddrinfo
    answered = threading.Event()

    def slow_resolver(host, *args, **kwargs):  # type: ignore[no-untyped-def]
        if host == "slow-dns.example":
            answered.wait(60)  # a resolver that takes its time (getaddrinfo has no timeout)
        return real("127.0.0.1" if host == "slow-dns.example" else host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", slow_resolver)
    settings = make_settings(fetch_timeout_seconds=1)
    try:
        error = finishes(lambda: fetch("http://slow-dns.example/cal.ics", settings), within=20)
    finally:
        answered.set()
    assert isinstance(error, SourceError)
    assert "did not arrive within 1 seconds" in error.message and error.transient


# --- The SSRF guard's own table, range by range ---

# (block, RFC) from the IANA IPv4 and IPv6 Special-Purpose Address Registries, written out
# here independently of calsync/addresses.py, plus multicast and deprecated site-local.
REFUSED_BLOCKS = [
    ("0.0.0.0/8", "RFC 791"), ("10.0.0.0/8", "RFC 1918"), ("100.64.0.0/10", "RFC 6598"),
    ("127.0.0.0/8", "RFC 1122"), ("169.254.0.0/16", "RFC 3927"), ("172.16.0.0/12", "RFC 1918"),
    ("192.0.0.0/24", "RFC 6890"), ("192.0.0.0/29", "RFC 7335"), ("192.0.0.8/32", "RFC 7600"),
    ("192.0.0.9/32", "RFC 7723"), ("192.0.0.10/32", "RFC 8155"),
    ("192.0.0.170/31", "RFC 8880"), ("192.0.2.0/24", "RFC 5737"),
    ("192.31.196.0/24", "RFC 7535"), ("192.52.193.0/24", "RFC 7450"),
    ("192.88.99.0/24", "RFC 7526"), ("192.168.0.0/16", "RFC 1918"),
    ("192.175.48.0/24", "RFC 7534"), ("198.18.0.0/15", "RFC 2544"),
    ("198.51.100.0/24", "RFC 5737"), ("203.0.113.0/24", "RFC 5737"),
    ("224.0.0.0/4", "RFC 5771"), ("240.0.0.0/4", "RFC 1112"),
    ("255.255.255.255/32", "RFC 8190"),
    ("::/128", "RFC 4291"), ("::1/128", "RFC 4291"), ("::/96", "RFC 4291"),
    ("::ffff:0:0/96", "RFC 4291"), ("::ffff:0:0:0/96", "RFC 2765"),
    ("64:ff9b::/96", "RFC 6052"), ("64:ff9b:1::/48", "RFC 8215"), ("100::/64", "RFC 6666"),
    ("100:0:0:1::/64", "RFC 9780"), ("2001::/23", "RFC 2928"), ("2001::/32", "RFC 4380"),
    ("2001:1::1/128", "RFC 7723"), ("2001:1::2/128", "RFC 8155"),
    ("2001:1::3/128", "RFC 9665"), ("2001:2::/48", "RFC 5180"), ("2001:3::/32", "RFC 7450"),
    ("2001:4:112::/48", "RFC 7535"), ("2001:10::/28", "RFC 4843"),
    ("2001:20::/28", "RFC 7343"), ("2001:30::/28", "RFC 9374"),
    ("2001:db8::/32", "RFC 3849"), ("2002::/16", "RFC 7526"),
    ("2620:4f:8000::/48", "RFC 7534"), ("3fff::/20", "RFC 9637"), ("5f00::/16", "RFC 9602"),
    ("fc00::/7", "RFC 4193"), ("fe80::/10", "RFC 4291"), ("fec0::/10", "RFC 3879"),
    ("ff00::/8", "RFC 4291"),
]
NETWORKS = [ipaddress.ip_network(block) for block, _ in REFUSED_BLOCKS]


@pytest.mark.parametrize(("block", "rfc"), REFUSED_BLOCKS, ids=[b for b, _ in REFUSED_BLOCKS])
def test_every_special_purpose_block_is_refused_and_its_neighbours_are_not(block, rfc):
    network = ipaddress.ip_network(block)
    assert not is_public_address(str(network[0])), network[0]
    assert not is_public_address(str(network[-1])), network[-1]
    for neighbour in (int(network[0]) - 1, int(network[-1]) + 1):
        if not 0 <= neighbour < 2 ** network.max_prefixlen:
            continue
        address = ipaddress.ip_address(neighbour) if network.version == 4 else \
            ipaddress.IPv6Address(neighbour)
        if any(address in other for other in NETWORKS if other.version == network.version):
            continue  # the neighbour is special too (the next block of the table)
        # Outside global unicast (2000::/3), IPv6 is reserved by the IETF: refused as well.
        reachable = address.version == 4 or address in ipaddress.ip_network("2000::/3")
        assert is_public_address(str(address)) is reachable, address


def test_the_found_gaps_are_closed():
    for address in ("192.0.0.8", "192.0.0.170", "fec0::1", "3fff::1", "5f00::1",
                    "2001:1::3", "::ffff:192.0.0.8", "64:ff9b::c000:8"):
        assert not is_public_address(address), address


def test_public_addresses_stay_public():
    for address in ("8.8.8.8", "1.1.1.1", "93.184.216.34", "192.0.1.1", "2606:4700::1111",
                    "2001:4860:4860::8888", "2a00:1450:4001:80b::200e", "::ffff:8.8.8.8",
                    "64:ff9b::808:808"):
        assert is_public_address(address), address


# --- A refused address reads the same whether its port is open or closed ---

def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def rebinding(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    """`name` resolves to 127.0.0.2 once (a stand-in public address), then to 127.0.0.1."""
    real = socket.getaddrinfo
    answers = iter(["127.0.0.2"])

    def resolve(host, port, *args, **kwargs):  # type: ignore[no-untyped-def]
        if host != name:
            return real(host, port, *args, **kwargs)
        address = next(answers, "127.0.0.1")
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    monkeypatch.setattr(guarded_http, "is_public_address",
                        lambda address: address.split("%")[0] == "127.0.0.2")


@pytest.mark.parametrize("host", ["127.0.0.1", "rebind.example"])
def test_a_refused_address_reads_the_same_whether_its_port_is_open(
        host, http_files, make_settings, monkeypatch):
    settings = make_settings(allow_private_urls=False)
    messages = []
    for port in (http_files.port, closed_port()):
        if host != "127.0.0.1":
            rebinding(monkeypatch, host)  # afresh for each port: one public answer first
        error = refused(lambda port=port: fetch(f"http://{host}:{port}/cal.ics", settings))
        messages.append((error.message, error.hint, error.transient))
    assert messages[0] == messages[1]
    if host == "127.0.0.1":
        assert "private or local networks" in messages[0][0]
    else:  # connected only to the address it checked, which was not the server's
        assert "could not connect to rebind.example" in messages[0][0]
    assert http_files.requests == []
