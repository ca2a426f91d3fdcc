"""Judging addresses for the SSRF guard: which IP addresses are public, and which host strings are IPs.

Pure functions, no I/O. `host_address` reads a host exactly as an HTTP client and the C resolver would:
a canonical dotted quad or IPv6 literal is an address; any other host whose last label is a number
(`2130706433`, `0177.0.0.1`, `127.1`, `0x7f.1`) is an IP in a form resolvers disagree on, so it is
refused outright and the message names the address inet_aton would make of it.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(address)
    for address in (
        "169.254.169.254",  # AWS, GCP, Azure, OpenStack, Oracle instance metadata
        "169.254.170.2",  # AWS ECS task credentials
        "fd00:ec2::254",  # AWS instance metadata over IPv6
        "100.100.100.200",  # Alibaba Cloud metadata
        "168.63.129.16",  # Azure WireServer (a public address only Azure hosts can reach)
    )
)
_CGNAT = ipaddress.ip_network("100.64.0.0/10")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_LOCAL_NAT64 = ipaddress.ip_network("64:ff9b:1::/48")
# IPv4-compatible (::a.b.c.d, deprecated) and IPv4-translated (::ffff:0:a.b.c.d, SIIT) forms.
_COMPATIBLE = ipaddress.ip_network("::/96")
_TRANSLATED = ipaddress.ip_network("::ffff:0:0:0/96")
_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_CANONICAL_V4 = re.compile(rf"{_OCTET}(?:\.{_OCTET}){{3}}")
# A label inet_aton reads as a number: decimal, octal (leading 0) or hex (0x, even with no digits).
_NUMBER = re.compile(r"0[xX][0-9a-fA-F]*|[0-9]+")
_MAX_SHOWN = 80


class HostProblem(ValueError):
    """A host that is not a usable name or address; `reason` is the short text users see."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Verdict:
    """Why an address must not be fetched ("a private address"); metadata ones need explicit allowing."""

    reason: str
    metadata: bool = False


def judge(address: IPAddress) -> Verdict | None:
    """Why `address` must not be fetched, or None when it is a public address."""
    if isinstance(address, ipaddress.IPv6Address):
        inner = embedded_ipv4(address)
        if inner is not None:
            verdict = judge(inner)
            if verdict is not None:
                return Verdict(f"an IPv6 form of {inner}, {verdict.reason}", verdict.metadata)
            if address.ipv4_mapped is not None or address in _NAT64 or address.sixtofour is not None:
                # These reach the public IPv4 address they carry; the others are deprecated forms.
                return None
    checks: tuple[tuple[bool, str], ...] = (
        (address in METADATA_ADDRESSES, "a cloud metadata address"),
        (address.is_unspecified, "an unspecified address"),
        (address.is_loopback, "a loopback address"),
        (address.is_link_local, "a link-local address"),
        (address.is_multicast, "a multicast address"),
        (isinstance(address, ipaddress.IPv4Address) and address in _CGNAT, "a shared (CGNAT) address"),
        (isinstance(address, ipaddress.IPv6Address) and address in _LOCAL_NAT64, "a local-use NAT64 address"),
        (address.is_reserved, "a reserved address"),
        (address.is_private, "a private address"),
        (not address.is_global, "not a public address"),
    )
    reason = next((reason for failed, reason in checks if failed), None)
    return None if reason is None else Verdict(reason, address in METADATA_ADDRESSES)


def embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries (mapped, compatible, translated, NAT64, 6to4, Teredo)."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        # The client's public address, the one a Teredo relay sends the traffic to.
        return address.teredo[1]
    low32 = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if address in _NAT64 or address in _TRANSLATED:
        return low32
    if address in _COMPATIBLE and int(address) > 1:
        return low32
    return None


def host_address(host: str) -> IPAddress | None:
    """The IP address a URL's host denotes (as yarl's `raw_host` gives it), or None for a name.

    Raises HostProblem for numeric hosts in non-standard forms and for IPv6 literals with a zone index.
    """
    if ":" in host:
        return _ipv6_literal(host.strip("[]"))
    labels = host.split(".")
    if labels[-1] == "" and len(labels) > 1:
        labels.pop()
    if not _NUMBER.fullmatch(labels[-1]):
        return None
    if _CANONICAL_V4.fullmatch(host):
        return ipaddress.IPv4Address(host)
    # Like a browser: a host ending in a number is an IP address or nothing, never a name to look up.
    value = inet_aton(labels)
    if value is None:
        raise HostProblem(f"refused: {shown(host)} is not a valid IP address")
    raise HostProblem(f"refused: {shown(host)} is a non-standard form of the IP address {value}")


def inet_aton(labels: list[str]) -> ipaddress.IPv4Address | None:
    """The address the C library's inet_aton makes of 1-4 numeric labels, or None when it makes none."""
    if not 1 <= len(labels) <= 4:
        return None
    numbers: list[int] = []
    for label in labels:
        if not _NUMBER.fullmatch(label):
            return None
        # 12 significant digits exceed 32 bits in any base; int() refuses 4,300 decimal digits anyway.
        if len(label.lstrip("0xX")) > 12:
            return None
        if label[:2].lower() == "0x":
            numbers.append(int(label[2:] or "0", 16))
        elif len(label) > 1 and label[0] == "0":
            if not set(label) <= set("01234567"):
                return None
            numbers.append(int(label, 8))
        else:
            numbers.append(int(label))
    *head, last = numbers
    if any(number > 255 for number in head) or last >= 256 ** (5 - len(numbers)):
        return None
    value = last
    for index, number in enumerate(head):
        value |= number << (24 - 8 * index)
    return ipaddress.IPv4Address(value)


def _ipv6_literal(text: str) -> ipaddress.IPv6Address:
    literal, zone_mark, _zone = text.partition("%")
    try:
        address = ipaddress.IPv6Address(literal)
    except ValueError:
        raise HostProblem("invalid URL: not a valid IPv6 address") from None
    if zone_mark:
        # A zone index names a local network interface: judge the address, then refuse either way.
        verdict = judge(address)
        if verdict is not None:
            raise HostProblem(f"refused: {address} is {verdict.reason}")
        raise HostProblem(f"refused: {address} has a zone index, which only local addresses use")
    return address


def shown(text: str) -> str:
    """Host text safe to show in chat and terminals: printable ASCII only, and not too long."""
    safe = "".join(char if " " < char < "\x7f" else "?" for char in text)
    return safe if len(safe) <= _MAX_SHOWN else safe[: _MAX_SHOWN - 1] + "…"
