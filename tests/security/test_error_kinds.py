"""A poll error's kind (the metrics label) is set where the error is raised, never read from its words.

The words may quote the server or the document: a feed whose root element is <redirect> once counted
as a redirect error, and an unexpected exception whose message says "HTTP 500" as a server error.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.clock import ManualClock
from bot.config import IngestSettings
from bot.ingest.errors import POLL_ERROR_KINDS
from bot.ingest.fetch import Fetcher, FetchError
from bot.pipeline.polling import poll_due
from bot.store import Store
from bot.store.sources import add_source
from tests.fakes.feed_server import FeedServer

START = datetime(2025, 9, 29, 8, 0, tzinfo=UTC)


def settings(**overrides: object) -> IngestSettings:
    base: dict[str, object] = {
        "allowed_private_hosts": ("127.0.0.1",),
        "politeness_delay_s": 0.0,
        "timeout_s": 1.0,
        "max_body_bytes": 10_000,
    }
    return IngestSettings.model_validate(base | overrides)


async def test_each_poll_error_carries_the_kind_set_where_it_was_raised(store: Store) -> None:
    clock = ManualClock(START)
    config = settings()
    async with FeedServer() as server:
        server.add("/root-redirect", b'<?xml version="1.0"?><redirect><timed>out</timed></redirect>')
        server.add(
            "/json-words", b'{"HTTP 500": "timed out", "redirect": 1}', content_type="application/json"
        )
        server.add("/gone", b"", status=410)
        server.add("/busy", b"", status=503)
        server.add("/teapot", b"", status=302)
        server.add("/big", b"<rss>" + b"x" * 20_000)
        server.redirect("/loop", "/loop")
        expected = {
            "/root-redirect": "feed",
            "/json-words": "feed",
            "/gone": "http_4xx",
            "/busy": "http_5xx",
            "/teapot": "http_other",
            "/big": "too_large",
            "/loop": "redirect",
        }
        ids = {(await add_source(store, server.url(p), now=clock.now())).id: p for p in expected}
        async with Fetcher(config, clock) as fetcher:
            report = await poll_due(store, fetcher, clock=clock, settings=config, owner="t")
    kinds = {ids[p.source.id]: p.error_kind for p in report.polls}
    assert kinds == expected, [(ids[p.source.id], p.error) for p in report.polls]
    assert set(kinds.values()) <= set(POLL_ERROR_KINDS)


async def test_a_refused_address_is_refused_whatever_it_says() -> None:
    async with FeedServer() as server, Fetcher(IngestSettings(), ManualClock(START)) as guarded:
        server.add("/x", b"")
        with pytest.raises(FetchError) as caught:
            await guarded.fetch(server.url("/x"))
    assert caught.value.kind == "refused"
