"""Which IP addresses calsync may fetch a calendar from, judged by our own table of the IANA
special-purpose registries alone."""

from __future__ import annotations

import ipaddress
from typing import Final

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

# Not Python's `ipaddress.is_global`: it lags the registries (it counts 192.0.0.8, fec0::/10
# and, before 3.12.6, 3fff::/20 as public).
# Every block of the IANA IPv4 and IPv6 Special-Purpose Address Registries (RFC 6890 and
# its updates, as of 2025), plus multicast and deprecated site-local, which live in other
# registries. The few blocks IANA marks globally reachable (AS112, AMT, the PCP, TURN and
# DNS-SD anycast /32s and /128s, ORCHIDv2, DETs, Teredo) are refused too: an anycast
# service answers from the nearest operator, which may be inside our own network, and no
# calendar is published on any of them.
SPECIAL_PURPOSE: Final = """
0.0.0.0/8             RFC 791     "this network"
10.0.0.0/8            RFC 1918    private use
100.64.0.0/10         RFC 6598    shared address space (carrier-grade NAT)
127.0.0.0/8           RFC 1122    loopback
169.254.0.0/16        RFC 3927    link local (cloud metadata services)
172.16.0.0/12         RFC 1918    private use
192.0.0.0/24          RFC 6890    IETF protocol assignments
192.0.0.0/29          RFC 7335    IPv4 service continuity prefix
192.0.0.8/32          RFC 7600    IPv4 dummy address
192.0.0.9/32          RFC 7723    port control protocol anycast (reaches the local NAT)
192.0.0.10/32         RFC 8155    TURN anycast
192.0.0.170/31        RFC 8880    NAT64/DNS64 discovery
192.0.2.0/24          RFC 5737    documentation (TEST-NET-1)
192.31.196.0/24       RFC 7535    AS112-v4
192.52.193.0/24       RFC 7450    AMT
192.88.99.0/24        RFC 7526    deprecated 6to4 relay anycast
192.168.0.0/16        RFC 1918    private use
192.175.48.0/24       RFC 7534    direct delegation AS112 service
198.18.0.0/15         RFC 2544    benchmarking
198.51.100.0/24       RFC 5737    documentation (TEST-NET-2)
203.0.113.0/24        RFC 5737    documentation (TEST-NET-3)
224.0.0.0/4           RFC 5771    multicast
240.0.0.0/4           RFC 1112    reserved
255.255.255.255/32    RFC 8190    limited broadcast
::/128                RFC 4291    unspecified address
::1/128               RFC 4291    loopback
::/96                 RFC 4291    deprecated IPv4-compatible addresses
::ffff:0:0:0/96       RFC 2765    IPv4-translated addresses (SIIT)
64:ff9b:1::/48        RFC 8215    local-use IPv4/IPv6 translation
100::/64              RFC 6666    discard-only
100:0:0:1::/64        RFC 9780    dummy IPv6 prefix
2001::/23             RFC 2928    IETF protocol assignments
2001::/32             RFC 4380    Teredo
2001:1::1/128         RFC 7723    port control protocol anycast
2001:1::2/128         RFC 8155    TURN anycast
2001:1::3/128         RFC 9665    DNS-SD service registration protocol anycast
2001:2::/48           RFC 5180    benchmarking
2001:3::/32           RFC 7450    AMT
2001:4:112::/48       RFC 7535    AS112-v6
2001:10::/28          RFC 4843    deprecated ORCHID
2001:20::/28          RFC 7343    ORCHIDv2
2001:30::/28          RFC 9374    drone remote ID entity tags
2001:db8::/32         RFC 3849    documentation
2002::/16             RFC 7526    6to4 (deprecated; relays forward to any embedded IPv4)
2620:4f:8000::/48     RFC 7534    direct delegation AS112 service
3fff::/20             RFC 9637    documentation
5f00::/16             RFC 9602    segment routing (SRv6) SIDs
fc00::/7              RFC 4193    unique local
fe80::/10             RFC 4291    link-local unicast
fec0::/10             RFC 3879    deprecated site-local
ff00::/8              RFC 4291    multicast
"""

# Only global unicast is routed on the IPv6 internet; the rest is reserved by the IETF.
GLOBAL_UNICAST: Final = ipaddress.IPv6Network("2000::/3")  # RFC 4291, IANA IPv6 address space
# Translation prefixes that reach an IPv4 host: that host decides.
IPV4_MAPPED: Final = ipaddress.IPv6Network("::ffff:0:0/96")  # RFC 4291
NAT64: Final = ipaddress.IPv6Network("64:ff9b::/96")  # RFC 6052, well-known NAT64 prefix


def _parse(table: str) -> tuple[tuple[Network, str], ...]:
    rows = []
    for line in table.strip().splitlines():
        block, reference = line.split(maxsplit=1)
        rows.append((ipaddress.ip_network(block), " ".join(reference.split())))
    return tuple(rows)


BLOCKS: Final = _parse(SPECIAL_PURPOSE)


def special_purpose_block(ip: IPAddress) -> tuple[Network, str] | None:
    """The most specific table entry holding `ip` (block and its RFC), or None."""
    found = [(net, ref) for net, ref in BLOCKS if net.version == ip.version and ip in net]
    return max(found, key=lambda row: row[0].prefixlen, default=None)


def embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 host an IPv4-mapped or NAT64 address reaches, else None."""
    if ip in IPV4_MAPPED or ip in NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def is_public_address(address: str) -> bool:
    """Whether calsync may connect to `address` (a literal IPv4 or IPv6 address)."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = embedded_ipv4(ip)
        if embedded is not None:
            return is_public_address(str(embedded))
        if ip not in GLOBAL_UNICAST:
            return False
    return special_purpose_block(ip) is None
