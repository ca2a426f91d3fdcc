"""Feed servers that lie, stall or flood, written byte by byte on loopback, polled among good sources.

Each scenario ends as its own source's one short recorded error (or, for a lie that still carries a
feed, stored articles); the good source beside them is stored; nothing reaches beyond the source.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Self

import pytest

from bot.clock import ManualClock
from bot.config import IngestSettings
from bot.ingest.fetch import Fetcher
from bot.pipeline.polling import poll_due
from bot.store import Store
from bot.store.sources import add_source, get_source
from tests.fakes.feed_server import FeedServer
from tests.security import hostile_feeds as hostile

START = datetime(2025, 9, 29, 8, 0, tzinfo=UTC)
FEED = hostile.rss("Raw", [("Raw story", "https://raw.example/1")])
Scenario = Callable[[asyncio.StreamWriter], Awaitable[None]]
Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


def head(status: str = "200 OK", *lines: str) -> bytes:
    return (f"HTTP/1.1 {status}\r\n" + "".join(f"{line}\r\n" for line in lines) + "\r\n").encode("latin-1")


async def huge_header(writer: asyncio.StreamWriter) -> None:
    writer.write(head("200 OK", "X-Pad: " + "a" * 1_000_000, "Content-Length: 0"))


async def many_headers(writer: asyncio.StreamWriter) -> None:
    lines = [f"X-H{i}: v" for i in range(50_000)]
    writer.write(head("200 OK", *lines, f"Content-Length: {len(FEED)}") + FEED)


async def endless_headers(writer: asyncio.StreamWriter) -> None:
    writer.write(b"HTTP/1.1 200 OK\r\n")
    for n in range(100_000):
        writer.write(f"X-Slow-{n}: a\r\n".encode())
        await writer.drain()
        await asyncio.sleep(0.05)


async def endless_body(writer: asyncio.StreamWriter) -> None:
    writer.write(head("200 OK", "Transfer-Encoding: chunked", "Content-Type: application/rss+xml"))
    chunk = b"<!-- " + b"x" * 65_000 + b" -->"
    while True:
        writer.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
        await writer.drain()


async def length_too_long(writer: asyncio.StreamWriter) -> None:
    writer.write(head("200 OK", "Content-Length: 100000", "Content-Type: application/rss+xml") + FEED)


async def length_too_short(writer: asyncio.StreamWriter) -> None:
    writer.write(head("200 OK", "Content-Length: 10", "Content-Type: application/rss+xml") + FEED)


async def fake_gzip(writer: asyncio.StreamWriter) -> None:
    writer.write(head("200 OK", f"Content-Length: {len(FEED)}", "Content-Encoding: gzip") + FEED)


async def charset_lie(writer: asyncio.StreamWriter) -> None:
    lines = (f"Content-Length: {len(FEED)}", "Content-Type: application/rss+xml; charset=utf-32")
    writer.write(head("200 OK", *lines) + FEED)


async def escape_in_reason(writer: asyncio.StreamWriter) -> None:
    writer.write(head("500 \x1b]52;c;aGk=\x07Evil \x1b[2J", "Content-Length: 0"))


async def huge_retry_after(writer: asyncio.StreamWriter) -> None:
    writer.write(head("503 Busy", "Retry-After: " + "9" * 5000, "Content-Length: 0"))


async def long_retry_after(writer: asyncio.StreamWriter) -> None:
    writer.write(head("429 Slow down", "Retry-After: 99999999999999", "Content-Length: 0"))


async def huge_location(writer: asyncio.StreamWriter) -> None:
    writer.write(head("301 Moved", "Location: /" + "a" * 200_000, "Content-Length: 0"))


async def garbage_status(writer: asyncio.StreamWriter) -> None:
    writer.write(b"HTTP/9.9 999999999999 \xff\xfe\r\n\r\n")


async def nothing(writer: asyncio.StreamWriter) -> None:
    return None


SCENARIOS: dict[str, Scenario] = {
    "huge-header": huge_header,
    "many-headers": many_headers,
    "endless-headers": endless_headers,
    "endless-body": endless_body,
    "length-too-long": length_too_long,
    "length-too-short": length_too_short,
    "fake-gzip": fake_gzip,
    "charset-lie": charset_lie,
    "escape-in-reason": escape_in_reason,
    "huge-retry-after": huge_retry_after,
    "long-retry-after": long_retry_after,
    "huge-location": huge_location,
    "garbage-status": garbage_status,
    "nothing": nothing,
}


class RawServer:
    """One loopback port per scenario: reads the request head, then lets the scenario write anything."""

    def __init__(self) -> None:
        self.servers: dict[str, asyncio.Server] = {}
        self.tasks: set[asyncio.Task[None]] = set()

    async def __aenter__(self) -> Self:
        for name, scenario in SCENARIOS.items():
            self.servers[name] = await asyncio.start_server(self._handler(scenario), "127.0.0.1", 0)
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        for server in self.servers.values():
            server.close()
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)

    def url(self, name: str) -> str:
        port = self.servers[name].sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}/{name}"

    def _handler(self, scenario: Scenario) -> Handler:
        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            task = asyncio.current_task()
            assert task is not None
            self.tasks.add(task)
            try:
                await reader.readuntil(b"\r\n\r\n")
                await scenario(writer)
                await writer.drain()
            except (ConnectionError, asyncio.IncompleteReadError):
                pass  # the client gave up: what these scenarios are for
            finally:
                writer.close()
                self.tasks.discard(task)

        return handle


def settings() -> IngestSettings:
    return IngestSettings.model_validate(
        {
            "allowed_private_hosts": ("127.0.0.1",),
            "politeness_delay_s": 0.0,
            "timeout_s": 2.0,
            "connect_timeout_s": 2.0,
            "max_body_bytes": 2_000_000,
            "max_redirects": 3,
        }
    )


async def test_lying_and_flooding_servers_cost_only_themselves(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bot.pipeline.polling")
    clock = ManualClock(START)
    config = settings()
    async with RawServer() as raw, FeedServer() as good:
        good.add("/good.xml", hostile.rss("Good", [("Good story", "https://good.example/1")]))
        good_id = (await add_source(store, good.url("/good.xml"), now=clock.now())).id
        ids = {(await add_source(store, raw.url(name), now=clock.now())).id: name for name in SCENARIOS}
        async with Fetcher(config, clock) as fetcher:
            report = await poll_due(store, fetcher, clock=clock, settings=config, owner="t")
    polls = {p.source.id: p for p in report.polls}
    assert polls[good_id].status == "stored" and polls[good_id].new == 1
    for source_id, name in ids.items():
        poll = polls[source_id]
        reason = poll.error or ""
        assert len(reason) <= 200 and not hostile.forbidden_in(reason) and "\n" not in reason, (name, reason)
        assert "could not store" not in reason and poll.error_kind != "internal", (name, reason)
        source = await get_source(store, source_id)
        assert source is not None and source.next_poll_at is not None
        # However long a server asks us to wait, the wait is at most the longest backoff.
        assert source.next_poll_at <= clock.now() + timedelta(seconds=config.backoff_max_s), (name, reason)
    # One write for the whole pass: no hostile source made the batch fall back to one write per source.
    assert not [r for r in caplog.records if "storing them one by one" in r.getMessage()]
