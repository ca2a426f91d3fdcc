"""The SSRF guard through the real Fetcher: refusals happen before any connection is attempted."""

from __future__ import annotations

import ipaddress
from typing import Any

import pytest

from bot.clock import ManualClock
from bot.config import IngestSettings
from bot.ingest.addresses import judge
from bot.ingest.fetch import Fetcher, FetchError
from bot.ingest.ssrf import Refused, SsrfGuard
from tests.bot.ingest.conftest import hosts
from tests.fakes.feed_server import FeedServer

FEED = b'<rss version="2.0"><channel><title>T</title></channel></rss>'
# Python versions print IPv4-mapped addresses differently; the guard prints what Python prints.
MAPPED = ipaddress.ip_address("::ffff:192.168.1.5")
STRICT = IngestSettings(politeness_delay_s=0, timeout_s=5)


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://127.0.0.1:9/feed", "refused: 127.0.0.1 is a loopback address"),
        ("http://10.0.0.1/feed", "refused: 10.0.0.1 is a private address"),
        ("http://169.254.169.254/latest/meta-data/", "refused: 169.254.169.254 is a cloud metadata address"),
        ("http://[::1]:9/feed", "refused: ::1 is a loopback address"),
        ("http://[fd00:ec2::254]/", "refused: fd00:ec2::254 is a cloud metadata address"),
        ("http://100.100.100.200/", "refused: 100.100.100.200 is a cloud metadata address"),
        ("http://100.64.0.7/", "refused: 100.64.0.7 is a shared (CGNAT) address"),
        ("http://0.0.0.0/", "refused: 0.0.0.0 is an unspecified address"),
        ("ftp://example.org/feed", "refused: only http and https URLs are fetched, not ftp"),
        ("file:///etc/passwd", "refused: only http and https URLs are fetched, not file"),
    ],
)
async def test_literal_addresses_and_schemes_are_refused(
    clock: ManualClock, connect_attempts: list[tuple[Any, ...]], url: str, reason: str
) -> None:
    async with Fetcher(STRICT, clock) as fetcher:
        with pytest.raises(FetchError) as caught:
            await fetcher.fetch(url)
    assert caught.value.reason == reason
    assert not caught.value.transient
    assert connect_attempts == []


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("127.0.0.1", "refused: 127.0.0.1 is a loopback address"),
        ("10.0.0.1", "refused: 10.0.0.1 is a private address"),
        ("169.254.169.254", "refused: 169.254.169.254 is a cloud metadata address"),
        ("::ffff:192.168.1.5", f"refused: {MAPPED} is an IPv6 form of 192.168.1.5, a private address"),
    ],
)
async def test_names_resolving_to_private_addresses_are_refused_before_connecting(
    clock: ManualClock, connect_attempts: list[tuple[Any, ...]], address: str, reason: str
) -> None:
    lookups: list[str] = []
    resolve = hosts({"news.example": [address]})

    async def recording(host: str, port: int) -> list[str]:
        lookups.append(host)
        return await resolve(host, port)

    async with Fetcher(STRICT, clock, lookup=recording) as fetcher:
        with pytest.raises(FetchError) as caught:
            await fetcher.fetch("http://news.example/feed.xml")
    assert caught.value.reason == reason
    assert lookups == ["news.example"]
    assert connect_attempts == []


async def test_one_private_record_among_public_ones_is_refused(
    clock: ManualClock, connect_attempts: list[tuple[Any, ...]]
) -> None:
    lookup = hosts({"mixed.example": ["93.184.216.34", "10.1.2.3"]})
    async with Fetcher(STRICT, clock, lookup=lookup) as fetcher:
        with pytest.raises(FetchError) as caught:
            await fetcher.fetch("https://mixed.example/feed")
    assert caught.value.reason == "refused: 10.1.2.3 is a private address"
    assert connect_attempts == []


async def test_dns_failure(clock: ManualClock) -> None:
    async with Fetcher(STRICT, clock, lookup=hosts({})) as fetcher:
        with pytest.raises(FetchError) as caught:
            await fetcher.fetch("http://nowhere.example/feed")
    assert caught.value.reason == "DNS lookup failed"
    assert caught.value.transient


async def test_redirect_to_a_private_address_is_refused(
    server: FeedServer, settings: IngestSettings, clock: ManualClock, connect_attempts: list[tuple[Any, ...]]
) -> None:
    server.redirect("/feed.xml", "http://10.0.0.1/admin", 302)
    server.redirect("/meta.xml", "http://metadata.internal/latest/", 301)
    lookup = hosts({"metadata.internal": ["169.254.169.254"]})
    async with Fetcher(settings, clock, lookup=lookup) as fetcher:
        with pytest.raises(FetchError) as private:
            await fetcher.fetch(server.url("/feed.xml"))
        with pytest.raises(FetchError) as metadata:
            await fetcher.fetch(server.url("/meta.xml"))
    assert private.value.reason == "refused: 10.0.0.1 is a private address"
    assert metadata.value.reason == "refused: 169.254.169.254 is a cloud metadata address"
    assert {attempt[0] for attempt in connect_attempts} == {"127.0.0.1"}


async def test_allowed_host_connects_to_the_vetted_address_with_its_own_host_header(
    server: FeedServer, settings: IngestSettings, clock: ManualClock, connect_attempts: list[tuple[Any, ...]]
) -> None:
    server.add("/feed.xml", FEED)
    calls: list[str] = []
    answers = iter([["127.0.0.1"], ["10.9.9.9"]])

    async def rebinding(host: str, port: int) -> list[str]:
        # A rebinding DNS server: the first answer passes the check, a later one would not.
        calls.append(host)
        return next(answers)

    async with Fetcher(settings, clock, lookup=rebinding) as fetcher:
        result = await fetcher.fetch(f"http://feeds.test:{server.port}/feed.xml")
    assert result.body == FEED
    assert calls == ["feeds.test"]
    assert connect_attempts == [("127.0.0.1", server.port)]
    assert server.requests[0].headers["Host"] == f"feeds.test:{server.port}"


async def test_allow_private_sources_still_refuses_metadata(clock: ManualClock) -> None:
    settings = IngestSettings(allow_private_sources=True, politeness_delay_s=0)
    guard = SsrfGuard(settings, hosts({"lan.example": ["192.168.1.10"], "meta.example": ["169.254.169.254"]}))
    assert await guard.resolve("lan.example", 80) == [ipaddress.ip_address("192.168.1.10")]
    with pytest.raises(Refused, match="cloud metadata"):
        await guard.resolve("meta.example", 80)


def test_address_classification() -> None:
    public = ["93.184.216.34", "2606:4700:4700::1111", "8.8.8.8"]
    assert [judge(ipaddress.ip_address(text)) for text in public] == [None, None, None]
    refused = {
        "192.168.0.1": "a private address",
        "172.16.5.4": "a private address",
        "fc00::1": "a private address",
        "fe80::1": "a link-local address",
        "224.0.0.251": "a multicast address",
        "240.0.0.1": "a reserved address",
        "64:ff9b::a00:1": "an IPv6 form of 10.0.0.1, a private address",
        "2002:a00:1::": "an IPv6 form of 10.0.0.1, a private address",
    }
    for text, reason in refused.items():
        verdict = judge(ipaddress.ip_address(text))
        assert verdict is not None and verdict.reason == reason, text
