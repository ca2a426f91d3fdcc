"""Ingest test fixtures: a guard that blocks any non-loopback connect, a hosts-file lookup, settings."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from bot.clock import ManualClock
from bot.config import IngestSettings
from bot.ingest.ssrf import DnsFailure
from tests.fakes.feed_server import FeedServer

FETCHED_AT = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def connect_attempts(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Any, ...]]:
    """Every socket connect the event loop makes; non-loopback ones are blocked, not sent."""
    attempts: list[tuple[Any, ...]] = []
    original = asyncio.selector_events.BaseSelectorEventLoop.sock_connect

    async def guarded(self: asyncio.AbstractEventLoop, sock: socket.socket, address: Any) -> None:
        attempts.append(tuple(address))
        if not ipaddress.ip_address(str(address[0]).split("%")[0]).is_loopback:
            raise OSError(f"test guard: blocked a connect to {address[0]}")
        await original(self, sock, address)  # type: ignore[arg-type]

    monkeypatch.setattr(asyncio.selector_events.BaseSelectorEventLoop, "sock_connect", guarded)
    return attempts


def hosts(mapping: dict[str, list[str]]) -> Callable[[str, int], Awaitable[list[str]]]:
    """A lookup that answers from `mapping` (a hosts file), so no test asks real DNS."""

    async def lookup(host: str, port: int) -> list[str]:
        if host not in mapping:
            raise DnsFailure(host)
        return list(mapping[host])

    return lookup


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(FETCHED_AT)


@pytest.fixture
def settings() -> IngestSettings:
    return IngestSettings(
        contact="mailto:ops@example.org",
        allowed_private_hosts=("127.0.0.1", "feeds.test"),
        politeness_delay_s=0,
        timeout_s=5,
        connect_timeout_s=2,
        max_body_bytes=1_000_000,
    )


@pytest.fixture
async def server() -> AsyncIterator[FeedServer]:
    async with FeedServer() as running:
        yield running
