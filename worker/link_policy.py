"""Which addresses the link check may connect to: public internet addresses only, so that a
link in an article cannot make the worker ask this host, its private network or its cloud's
metadata service (169.254.169.254) anything.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable
from dataclasses import dataclass

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
# A name's addresses, looked up once per request; the connection then goes to one of these.
Resolver = Callable[[str], list[IPAddress]]

# RFC 6052's NAT64 prefix: a NAT64 gateway delivers 64:ff9b::a.b.c.d to the IPv4 a.b.c.d.
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


def is_public(address: IPAddress) -> bool:
    """`address` is on the public internet.

    `is_global` is the basis: it leaves out loopback, private, link-local, shared (CGNAT,
    100.64/10), unspecified, documentation and benchmarking addresses, and IPv6 ULA. It keeps
    multicast and, in some Python versions, reserved, deprecated site-local (fec0::/10) and
    IPv4-mapped IPv6 addresses, refused here. An IPv6 address carrying an IPv4 one (mapped,
    NAT64, 6to4) is judged by that IPv4 address, which is where a gateway delivers it.
    """
    carried = _carried_ipv4(address)
    if carried is not None:
        return is_public(carried)
    if isinstance(address, ipaddress.IPv6Address) and address.is_site_local:
        return False
    return address.is_global and not (address.is_multicast or address.is_reserved)


def _carried_ipv4(address: IPAddress) -> ipaddress.IPv4Address | None:
    if isinstance(address, ipaddress.IPv4Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return address.sixtofour


@dataclass(frozen=True)
class AddressPolicy:
    """Public addresses, and the networks in `also` (the tests' server on 127.0.0.1)."""

    also: tuple[IPNetwork, ...] = ()

    def allows(self, address: IPAddress) -> bool:
        return is_public(address) or any(address in network for network in self.also)


PUBLIC_ONLY = AddressPolicy()


def system_resolver(host: str) -> list[IPAddress]:
    """The addresses the system's resolver gives `host` (an IP literal gives itself), in its
    order of preference, each once; socket.gaierror when there are none."""
    found = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    return list(
        dict.fromkeys(
            ipaddress.ip_address(sockaddr[0])
            for family, _, _, _, sockaddr in found
            if family in (socket.AF_INET, socket.AF_INET6)
        )
    )
