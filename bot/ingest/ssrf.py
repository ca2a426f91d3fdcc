"""The SSRF guard: feed URLs are user input, so only public http(s) addresses are fetched.

A host is resolved once, every address is vetted, and the connection goes to those vetted addresses
(PinnedResolver is aiohttp's resolver), so DNS rebinding between check and connect cannot happen.
Loopback, private, link-local, CGNAT, multicast, reserved and cloud metadata addresses are refused
unless the operator allows private sources; metadata endpoints need the host listed explicitly.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

from aiohttp.abc import AbstractResolver, ResolveResult

from bot.config import IngestSettings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
# host, port -> the IP addresses (as text) the host resolves to; raises OSError when it cannot.
Lookup = Callable[[str, int], Awaitable[list[str]]]

METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(address) for address in ("169.254.169.254", "fd00:ec2::254", "100.100.100.200")
)
_CGNAT = ipaddress.ip_network("100.64.0.0/10")
# IPv6 forms that carry an IPv4 address: judged by the IPv4 address inside.
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


class Refused(OSError):
    """A URL or address the guard will not fetch; `reason` is the short text users see."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class DnsFailure(OSError):
    def __init__(self, host: str) -> None:
        super().__init__(f"DNS lookup failed for {host}")
        self.reason = f"DNS lookup failed for {host}"


def address_problem(address: IPAddress) -> str | None:
    """Why an address must not be fetched ("a private address"), or None when it is public."""
    mapped = getattr(address, "ipv4_mapped", None) or getattr(address, "sixtofour", None)
    if mapped is not None:
        return address_problem(mapped)
    teredo = getattr(address, "teredo", None)
    if teredo is not None:
        return address_problem(teredo[1])
    if address in _NAT64:
        return address_problem(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    checks: tuple[tuple[bool, str], ...] = (
        (address in METADATA_ADDRESSES, "a cloud metadata address"),
        (address.is_unspecified, "an unspecified address"),
        (address.is_loopback, "a loopback address"),
        (address.is_link_local, "a link-local address"),
        (address.is_multicast, "a multicast address"),
        (isinstance(address, ipaddress.IPv4Address) and address in _CGNAT, "a shared (CGNAT) address"),
        (address.is_reserved, "a reserved address"),
        (address.is_private, "a private address"),
        (not address.is_global, "not a public address"),
    )
    return next((reason for failed, reason in checks if failed), None)


class SsrfGuard:
    """Vets URLs and resolved addresses against IngestSettings' private-source rules."""

    def __init__(self, settings: IngestSettings, lookup: Lookup | None = None) -> None:
        self._allow_private = settings.allow_private_sources
        self._allowed_hosts = frozenset(host.lower().strip("[]") for host in settings.allowed_private_hosts)
        self._lookup = lookup or system_lookup

    def check_url(self, url: str) -> None:
        """Refuse non-http(s) URLs, URLs without a host, and literal IP hosts that are not allowed."""
        try:
            parts = urlsplit(url)
            host = parts.hostname
            parts.port  # noqa: B018 - a bad port raises ValueError here, before any connection
        except ValueError:
            raise Refused(f"invalid URL: {url[:200]}") from None
        if parts.scheme.lower() not in ("http", "https"):
            raise Refused(f"refused: only http and https URLs are fetched, not {parts.scheme or 'no scheme'}")
        if not host:
            raise Refused("invalid URL: no host")
        try:
            literal = ipaddress.ip_address(host)
        except ValueError:
            return
        self._vet(host, [literal])

    async def resolve(self, host: str, port: int) -> list[IPAddress]:
        """The host's addresses, all vetted; Refused if any is disallowed, DnsFailure if none."""
        try:
            literal = ipaddress.ip_address(host.strip("[]"))
        except ValueError:
            texts = await self._lookup(host, port)
            addresses = [ipaddress.ip_address(text.split("%", 1)[0]) for text in texts]
        else:
            addresses = [literal]
        if not addresses:
            raise DnsFailure(host)
        self._vet(host, addresses)
        return addresses

    def _vet(self, host: str, addresses: list[IPAddress]) -> None:
        explicitly_allowed = host.lower().strip("[]") in self._allowed_hosts
        for address in addresses:
            problem = address_problem(address)
            if problem is None or explicitly_allowed:
                continue
            if self._allow_private and address not in METADATA_ADDRESSES:
                continue
            # Every address must pass: one private record among public ones is still a way in.
            raise Refused(f"refused: {address} is {problem}")


class PinnedResolver(AbstractResolver):
    """aiohttp's resolver: connections go only to addresses the guard has just vetted."""

    def __init__(self, guard: SsrfGuard) -> None:
        self._guard = guard

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        addresses = await self._guard.resolve(host, port)
        results: list[ResolveResult] = []
        for address in addresses:
            address_family = socket.AF_INET6 if address.version == 6 else socket.AF_INET
            if family not in (socket.AF_UNSPEC, address_family):
                continue
            results.append(
                ResolveResult(
                    hostname=host,
                    host=str(address),
                    port=port,
                    family=address_family,
                    proto=0,
                    flags=socket.AI_NUMERICHOST,
                )
            )
        if not results:
            raise DnsFailure(host)
        return results

    async def close(self) -> None:
        return None


async def system_lookup(host: str, port: int) -> list[str]:
    """The operating system's resolver, via the event loop (no blocking call on the loop)."""
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise DnsFailure(host) from None
    seen: dict[str, None] = {}
    for info in infos:
        seen.setdefault(str(info[4][0]), None)
    return list(seen)
