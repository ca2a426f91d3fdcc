"""SSRF through the real Fetcher: every hostile URL is refused before any connection or DNS lookup.

A socket guard records every connect and name lookup; only the loopback feed server's own address
may be connected to. The victim is a second server on 127.0.0.2 that must never see a request.
The control cases at the end prove the guard itself fires and the setup can connect when allowed.
"""

from __future__ import annotations

import ipaddress
from collections.abc import AsyncIterator

import pytest
import yarl

from bot.clock import ManualClock
from bot.config import IngestSettings
from bot.ingest.fetch import Fetcher, FetchError
from bot.ingest.ssrf import Refused, SsrfGuard
from tests.bot.ingest.conftest import FETCHED_AT
from tests.fakes.feed_server import FeedServer
from tests.security.socket_guard import SocketGuard, install_socket_guard

FEED = b'<rss version="2.0"><channel><title>T</title></channel></rss>'
SETTINGS = IngestSettings(allowed_private_hosts=("127.0.0.1",), politeness_delay_s=0, timeout_s=5)


def v6(text: str) -> str:
    """An IPv6 address as the guard prints it (Python versions differ on mapped forms)."""
    return str(ipaddress.ip_address(text))


def in_v6(text: str, v4: str, problem: str) -> str:
    return f"refused: {v6(text)} is an IPv6 form of {v4}, {problem}"


LOOPBACK = "refused: 127.0.0.2 is a loopback address"
METADATA = "refused: 169.254.169.254 is a cloud metadata address"


def odd(host: str, address: str) -> str:
    return f"refused: {host} is a non-standard form of the IP address {address}"


# (URL with {v} for the victim's port, the exact reason users see)
CASES = [
    # Unicode digits and dots that yarl's IDNA mapping turns into an IP literal.
    ("http://１２７.０.０.２:{v}/feed", LOOPBACK),
    ("http://127。0。0。2:{v}/feed", LOOPBACK),
    ("http://１２７．０．０．２:{v}/feed", LOOPBACK),
    ("http://①②⑦.⓪.⓪.②:{v}/feed", LOOPBACK),
    ("http://１６９.２５４.１６９.２５４/latest/meta-data/", METADATA),
    ("http://⑯⑨｡②⑤④｡⑯⑨｡②⑤④/latest/", METADATA),
    ("http://１０.０.０.１/admin", "refused: 10.0.0.1 is a private address"),
    ("http://２１３０７０６４３４:{v}/", odd("2130706434", "127.0.0.2")),
    # Dotted and undotted numeric forms: decimal, octal, hex, short, trailing dot.
    ("http://2130706434:{v}/", odd("2130706434", "127.0.0.2")),
    ("http://017700000002:{v}/", odd("017700000002", "127.0.0.2")),
    ("http://0x7f000002:{v}/", odd("0x7f000002", "127.0.0.2")),
    ("http://0177.0.0.2:{v}/", odd("0177.0.0.2", "127.0.0.2")),
    ("http://0x7f.0.0.2:{v}/", odd("0x7f.0.0.2", "127.0.0.2")),
    ("http://0x7F.0x0.0x0.0x2:{v}/", odd("0x7f.0x0.0x0.0x2", "127.0.0.2")),
    ("http://127.2:{v}/", odd("127.2", "127.0.0.2")),
    ("http://0x7f.2:{v}/", odd("0x7f.2", "127.0.0.2")),
    ("http://127.0.2:{v}/", odd("127.0.2", "127.0.0.2")),
    ("http://127.000.000.002:{v}/", odd("127.000.000.002", "127.0.0.2")),
    ("http://127.0.0.2.:{v}/", odd("127.0.0.2.", "127.0.0.2")),
    ("http://0xa9fea9fe/latest/", odd("0xa9fea9fe", "169.254.169.254")),
    ("http://134744072/", odd("134744072", "8.8.8.8")),
    ("http://4294967298:{v}/", "refused: 4294967298 is not a valid IP address"),
    ("http://08.0.0.1/", "refused: 08.0.0.1 is not a valid IP address"),
    ("http://evil.0x7f/", "refused: evil.0x7f is not a valid IP address"),
    # IPv6 forms that carry an IPv4 address: mapped, compatible, translated, NAT64, 6to4, Teredo.
    ("http://[::ffff:127.0.0.2]:{v}/", in_v6("::ffff:127.0.0.2", "127.0.0.2", "a loopback address")),
    ("http://[::ffff:a9fe:a9fe]/", in_v6("::ffff:a9fe:a9fe", "169.254.169.254", "a cloud metadata address")),
    ("http://[::127.0.0.2]:{v}/", in_v6("::127.0.0.2", "127.0.0.2", "a loopback address")),
    ("http://[::ffff:0:127.0.0.2]:{v}/", in_v6("::ffff:0:127.0.0.2", "127.0.0.2", "a loopback address")),
    ("http://[64:ff9b::127.0.0.2]:{v}/", in_v6("64:ff9b::127.0.0.2", "127.0.0.2", "a loopback address")),
    (
        "http://[64:ff9b::a9fe:a9fe]/",
        in_v6("64:ff9b::a9fe:a9fe", "169.254.169.254", "a cloud metadata address"),
    ),
    ("http://[64:ff9b:1::a00:1]/", "refused: 64:ff9b:1::a00:1 is a local-use NAT64 address"),
    ("http://[64:ff9b:1::808:808]/", "refused: 64:ff9b:1::808:808 is a local-use NAT64 address"),
    ("http://[2002:7f00:2::]:{v}/", in_v6("2002:7f00:2::", "127.0.0.2", "a loopback address")),
    (
        "http://[2002:a9fe:a9fe::1]/",
        in_v6("2002:a9fe:a9fe::1", "169.254.169.254", "a cloud metadata address"),
    ),
    (
        "http://[2001:0:4136:e378:8000:63bf:80ff:fffd]/",
        in_v6("2001:0:4136:e378:8000:63bf:80ff:fffd", "127.0.0.2", "a loopback address"),
    ),
    # Link-local (with and without a zone), CGNAT, metadata, ULA, loopback and unspecified.
    ("http://[fe80::1%25eth0]/", "refused: fe80::1 is a link-local address"),
    ("http://[fe80::1]/", "refused: fe80::1 is a link-local address"),
    (
        "http://[2606:4700:4700::1111%25eth0]/",
        "refused: 2606:4700:4700::1111 has a zone index, which only local addresses use",
    ),
    ("http://100.64.0.1/", "refused: 100.64.0.1 is a shared (CGNAT) address"),
    ("http://100.127.255.254/", "refused: 100.127.255.254 is a shared (CGNAT) address"),
    ("http://169.254.169.254/latest/meta-data/", METADATA),
    ("http://169.254.170.2/v2/credentials", "refused: 169.254.170.2 is a cloud metadata address"),
    ("http://100.100.100.200/latest/", "refused: 100.100.100.200 is a cloud metadata address"),
    ("http://168.63.129.16/machine", "refused: 168.63.129.16 is a cloud metadata address"),
    ("http://[fd00:ec2::254]/latest/", "refused: fd00:ec2::254 is a cloud metadata address"),
    ("http://[fd12:3456:789a::1]/", "refused: fd12:3456:789a::1 is a private address"),
    ("http://[fc00::1]/", "refused: fc00::1 is a private address"),
    ("http://[::1]:{v}/", "refused: ::1 is a loopback address"),
    ("http://127.0.0.2:{v}/", LOOPBACK),
    ("http://0.0.0.0:{v}/", "refused: 0.0.0.0 is an unspecified address"),
    ("http://[::]:{v}/", "refused: :: is an unspecified address"),
    # Userinfo and hosts no resolver should ever be asked about.
    ("http://feeds.example@127.0.0.2:{v}/", "refused: URLs with a user name or password are not fetched"),
    ("http://127%2e0%2e0%2e2:{v}/", "invalid URL: the host name has characters a host name cannot have"),
]
IDS = [url.split("/")[2] for url, _ in CASES]


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(FETCHED_AT)


@pytest.fixture
async def feed() -> AsyncIterator[FeedServer]:
    async with FeedServer() as running:
        yield running


@pytest.fixture
async def victim() -> AsyncIterator[FeedServer]:
    """A loopback server on another address: where an attacker wants the bot to go."""
    async with FeedServer(host="127.0.0.2") as running:
        running.add("/feed", FEED)
        yield running


@pytest.fixture
def guard(monkeypatch: pytest.MonkeyPatch, feed: FeedServer) -> SocketGuard:
    installed = install_socket_guard(monkeypatch)
    installed.allow("127.0.0.1", feed.port)
    return installed


@pytest.mark.parametrize(("url", "reason"), CASES, ids=IDS)
async def test_refused_before_any_connection(
    clock: ManualClock, victim: FeedServer, guard: SocketGuard, url: str, reason: str
) -> None:
    async with Fetcher(SETTINGS, clock) as fetcher:
        with pytest.raises(FetchError) as caught:
            await fetcher.fetch(url.format(v=victim.port))
    assert (caught.value.reason, caught.value.transient) == (reason, False)
    assert (guard.attempts, guard.lookups, victim.requests) == ([], [], [])


@pytest.mark.parametrize(("url", "reason"), CASES, ids=IDS)
async def test_redirect_from_a_loopback_feed_is_refused_before_connecting(
    clock: ManualClock, feed: FeedServer, victim: FeedServer, guard: SocketGuard, url: str, reason: str
) -> None:
    feed.redirect("/hop", url.format(v=victim.port), 302)
    async with Fetcher(SETTINGS, clock) as fetcher:
        with pytest.raises(FetchError) as caught:
            await fetcher.fetch(feed.url("/hop"))
    assert (caught.value.reason, caught.value.transient) == (reason, False)
    assert guard.attempts == [("127.0.0.1", feed.port)]
    assert (guard.blocked, guard.lookups, victim.requests) == ([], [], [])


def test_the_vetting_function_judges_the_host_the_client_will_use() -> None:
    vetted = SsrfGuard(IngestSettings(allow_private_sources=True)).vet_url(
        "http://１２７.０.０.２:8080/a?b=c"
    )
    assert (vetted.raw_host, vetted.port, str(vetted)) == ("127.0.0.2", 8080, "http://127.0.0.2:8080/a?b=c")
    with pytest.raises(OSError, match="non-standard form"):
        SsrfGuard(IngestSettings(allow_private_sources=True)).vet_url("http://127.1/")


# Controls: the guard really stops connects, and the setup really connects when the address is allowed.


async def test_control_the_socket_guard_blocks_a_connect_nothing_else_refused(
    clock: ManualClock, victim: FeedServer, guard: SocketGuard
) -> None:
    everything = IngestSettings(allow_private_sources=True, politeness_delay_s=0, timeout_s=5)
    async with Fetcher(everything, clock) as fetcher:
        with pytest.raises(FetchError) as caught:
            await fetcher.fetch(f"http://127.0.0.2:{victim.port}/feed")
    assert caught.value.reason.startswith("connection failed")
    assert guard.blocked == [("127.0.0.2", victim.port)]
    assert victim.requests == []


async def test_control_an_allowed_address_is_fetched_through_the_guard(
    clock: ManualClock, feed: FeedServer, victim: FeedServer, guard: SocketGuard
) -> None:
    guard.allow("127.0.0.2", victim.port)
    feed.redirect("/hop", f"http://127.0.0.2:{victim.port}/feed", 302)
    allowed = IngestSettings(allowed_private_hosts=("127.0.0.1", "127.0.0.2"), politeness_delay_s=0)
    async with Fetcher(allowed, clock) as fetcher:
        result = await fetcher.fetch(feed.url("/hop"))
    assert result.body == FEED
    assert guard.attempts == [("127.0.0.1", feed.port), ("127.0.0.2", victim.port)]
    assert [request.path for request in victim.requests] == ["/feed"]


async def test_a_connect_to_an_address_the_guard_never_vetted_is_refused(
    clock: ManualClock, victim: FeedServer, guard: SocketGuard, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Simulate a hole in URL vetting: the socket factory still refuses the unvetted address.
    guard.allow("127.0.0.2", victim.port)
    monkeypatch.setattr(SsrfGuard, "vet_url", lambda self, url: yarl.URL(url))
    async with Fetcher(SETTINGS, clock) as fetcher:
        with pytest.raises(FetchError) as caught:
            await fetcher.fetch(f"http://127.0.0.2:{victim.port}/feed")
    assert caught.value.reason == "refused: 127.0.0.2 was not checked before connecting"
    assert (guard.attempts, victim.requests) == ([], [])


@pytest.mark.parametrize("host", ["9" * 5_000, "1.2.3." + "9" * 5_000, "0" * 5_000 + "1", "0x" + "f" * 5_000])
async def test_a_numeric_host_of_thousands_of_digits_is_refused_not_a_crash(host: str) -> None:
    # yarl URLs skip the 2,048-character check on text; int() refuses over 4,300 digits with ValueError.
    guard = SsrfGuard(IngestSettings())
    with pytest.raises(Refused) as caught:
        guard.vet_url(yarl.URL(f"http://{host}/feed"))
    assert caught.value.reason.startswith("refused: ") and len(caught.value.reason) < 200
    with pytest.raises(Refused):
        await guard.resolve(host, 80)
