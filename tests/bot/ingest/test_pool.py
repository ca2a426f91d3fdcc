"""ParsePool: the same articles from worker processes as from a thread, and clear errors from both."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.ingest.feed import FeedError
from bot.ingest.pool import ParsePool, parse_batch
from tests.bot.pipeline.test_polling import rss

FETCHED = datetime(2025, 9, 29, 8, 0, tzinfo=UTC)


def big_feed() -> bytes:
    link = "https://p.example/{}?utm_source=x"
    return rss("Pool", [(f"Envoy meets counterpart, round {i}", link.format(i)) for i in range(60)])


async def test_worker_processes_give_what_a_thread_gives() -> None:
    data = big_feed()
    here = parse_batch(data, 7, "Pool", FETCHED, "https://p.example/feed")
    async with ParsePool(processes=2, min_bytes=1) as pool:
        there = await pool.parse(
            data, source_id=7, source_name="Pool", fetched_at=FETCHED, url="https://p.example/feed"
        )
    assert there.articles == here.articles and len(there.articles) == 60
    assert there.fingerprints == here.fingerprints
    assert all(a.url.startswith("https://p.example/") and "utm_" not in a.url for a in there.articles)


async def test_a_broken_document_is_a_feed_error_from_a_worker_too() -> None:
    async with ParsePool(processes=2, min_bytes=1) as pool:
        with pytest.raises(FeedError, match="HTML page, not a feed"):
            await pool.parse(
                b"<!DOCTYPE html><html><body>" + b"<p>not a feed</p>" * 500 + b"</body></html>",
                source_id=1,
                source_name="x",
                fetched_at=FETCHED,
            )


async def test_one_process_means_threads() -> None:
    async with ParsePool(processes=1) as pool:
        batch = await pool.parse(big_feed(), source_id=1, source_name="x", fetched_at=FETCHED)
    assert len(batch.articles) == 60
