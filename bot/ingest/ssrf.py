"""The SSRF guard: feed URLs are user input, so only public http(s) addresses are fetched.

`SsrfGuard.vet_url` is the one vetting function. It parses a URL with yarl, as aiohttp will, and judges
the host aiohttp will connect to (`raw_host`, after IDNA mapping: `１２７。０。０。１` is 127.0.0.1); the
caller hands aiohttp that same parsed URL. IP-literal hosts are judged there, because aiohttp connects
to them without asking a resolver; names are resolved once by PinnedResolver, every address is vetted,
and the connection goes to those addresses, so DNS rebinding between check and connect cannot happen.
Last, the connector's socket factory refuses any address the guard did not vet.
Loopback, private, link-local, CGNAT, multicast, reserved and cloud metadata addresses are refused
unless the operator allows private sources; metadata endpoints need the host listed explicitly.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp.abc import AbstractResolver, ResolveResult
from yarl import URL

from bot.config import IngestSettings
from bot.ingest.addresses import METADATA_ADDRESSES, HostProblem, IPAddress, host_address, judge, shown
from bot.text_safety import clean_untrusted

__all__ = [
    "METADATA_ADDRESSES",
    "DnsFailure",
    "IPAddress",
    "Lookup",
    "PinnedResolver",
    "Refused",
    "SsrfGuard",
    "system_lookup",
]

# host, port -> the IP addresses (as text) the host resolves to; raises OSError when it cannot.
Lookup = Callable[[str, int], Awaitable[list[str]]]

# The longest URL a source may have (as an article link: bot.ingest.clean.MAX_LINK_CHARS).
MAX_URL_CHARS = 2_048
# What a DNS name may contain once yarl has IDNA-encoded it (underscores occur in real hosts).
_NAME = re.compile(r"[a-z0-9_-]+(?:\.[a-z0-9_-]+)*\.?", re.IGNORECASE)


class Refused(OSError):
    """A URL or address the guard will not fetch; `reason` is the short text users see."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class DnsFailure(OSError):
    def __init__(self, host: str) -> None:
        super().__init__(f"DNS lookup failed for {shown(host)}")
        self.reason = f"DNS lookup failed for {shown(host)}"


def parse_url(url: str | URL) -> URL:
    """`url` parsed as aiohttp will parse it; Refused unless it is an absolute http(s) URL with a sane host.

    Judges only the URL's form; `SsrfGuard.vet_url` also judges the address of an IP-literal host.
    """
    if isinstance(url, str):
        _check_text(url)
    try:
        parsed = url if isinstance(url, URL) else URL(url)
        host, scheme = parsed.raw_host, parsed.scheme
        parsed.port  # noqa: B018 - a bad port raises here, before any connection
    except (ValueError, TypeError, UnicodeError):
        raise Refused(f"invalid URL: {shown(str(url))}") from None
    if scheme not in ("http", "https"):
        raise Refused(f"refused: only http and https URLs are fetched, not {shown(scheme) or 'no scheme'}")
    if not host:
        raise Refused("invalid URL: no host")
    if parsed.raw_user is not None or parsed.raw_password is not None:
        # https://bank.example@evil.example/ goes to evil.example: never fetch or show such a URL.
        raise Refused("refused: URLs with a user name or password are not fetched")
    if ":" not in host and not _NAME.fullmatch(host):
        raise Refused("invalid URL: the host name has characters a host name cannot have")
    return parsed


def _check_text(url: str) -> None:
    """No feed has a URL of megabytes, or one with line breaks, controls or bidi characters (parsers drop
    some of them quietly, so what was shown and stored would not be what is fetched)."""
    if len(url) > MAX_URL_CHARS:
        raise Refused(f"refused: a URL longer than {MAX_URL_CHARS:,} characters")
    if clean_untrusted(url, multiline=False) != url:
        raise Refused("refused: a URL with line breaks, control or invisible characters")


class SsrfGuard:
    """Vets URLs and resolved addresses against IngestSettings' private-source rules."""

    def __init__(self, settings: IngestSettings, lookup: Lookup | None = None) -> None:
        self._allow_private = settings.allow_private_sources
        self._allowed_hosts = frozenset(_normal_host(host) for host in settings.allowed_private_hosts)
        self._lookup = lookup or system_lookup
        # Every address that passed; the socket factory connects to nothing else.
        self._vetted: set[IPAddress] = set()

    def vet_url(self, url: str | URL) -> URL:
        """The URL as aiohttp will use it, once its form and any IP-literal host pass; else Refused."""
        parsed = parse_url(url)
        host = parsed.raw_host or ""
        address = _literal(host)
        if address is not None:
            self._vet(host, [address])
        return parsed

    async def resolve(self, host: str, port: int) -> list[IPAddress]:
        """The host's addresses, all vetted; Refused if any is disallowed, DnsFailure if none."""
        literal = _literal(host)
        if literal is None:
            texts = await self._lookup(host, port)
            addresses = [ipaddress.ip_address(text.split("%", 1)[0]) for text in texts]
        else:
            addresses = [literal]
        if not addresses:
            raise DnsFailure(host)
        self._vet(host, addresses)
        return addresses

    def socket_factory(self, addr_info: tuple[Any, ...]) -> socket.socket:
        """aiohttp's socket factory: a socket only for an address this guard has vetted."""
        family, kind, proto, _, sockaddr = addr_info
        address = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
        if address not in self._vetted:
            raise Refused(f"refused: {address} was not checked before connecting")
        return socket.socket(family, kind, proto)

    def _vet(self, host: str, addresses: list[IPAddress]) -> None:
        explicitly_allowed = _normal_host(host) in self._allowed_hosts
        for address in addresses:
            verdict = judge(address)
            allowed = explicitly_allowed or (
                self._allow_private and verdict is not None and not verdict.metadata
            )
            if verdict is not None and not allowed:
                # Every address must pass: one private record among public ones is still a way in.
                raise Refused(f"refused: {address} is {verdict.reason}")
        self._vetted.update(addresses)


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


def _literal(host: str) -> IPAddress | None:
    try:
        return host_address(host)
    except HostProblem as exc:
        raise Refused(exc.reason) from None


def _normal_host(host: str) -> str:
    """A configured host spelled as yarl spells a URL's raw_host, so both compare equal."""
    text = host.strip().strip("[]")
    try:
        return URL.build(scheme="http", host=text).raw_host or text.lower()
    except (ValueError, TypeError, UnicodeError):
        return text.lower()
