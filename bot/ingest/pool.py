"""Parsing feeds on every core: large documents go to worker processes, small ones to a thread.

Parsing, normalising and fingerprinting are pure CPU work. In a thread they hold the GIL against the
event loop and the store's writer; in a process they run beside them. A poll of hundreds of feeds
keeps a ParsePool for its lifetime, so the workers' start-up is paid once.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
from collections.abc import Mapping
from concurrent.futures import Executor, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import Self

from bot.fingerprint import article_fingerprint
from bot.ingest.feed import MAX_ENTRIES, ParsedFeed
from bot.ingest.identity import to_articles
from bot.ingest.parse import parse_feed
from bot.models import Article

log = logging.getLogger(__name__)

# Below this size a document parses faster in a thread than it travels to a worker and back.
PROCESS_MIN_BYTES = 4 * 1024


@dataclass(frozen=True, slots=True)
class ParsedBatch:
    """One feed document's articles, with each article's fingerprint keyed by its canonical URL."""

    feed: ParsedFeed
    articles: list[Article]
    fingerprints: dict[str, int | None]


def parse_batch(
    data: bytes,
    source_id: int,
    source_name: str,
    fetched_at: datetime,
    url: str = "",
    headers: Mapping[str, str] | None = None,
    max_entries: int = MAX_ENTRIES,
) -> ParsedBatch:
    """parse_feed + to_articles + fingerprints: everything CPU-bound about one fetched document."""
    feed = parse_feed(data, url=url, headers=headers, max_entries=max_entries)
    articles = to_articles(feed, source_id, source_name, fetched_at)
    prints = {a.url: article_fingerprint(a.title, a.text) for a in articles}
    return ParsedBatch(feed, articles, prints)


class ParsePool:
    """`async with ParsePool() as pool: batch = await pool.parse(...)`; FeedError as parse_feed raises it."""

    def __init__(self, processes: int | None = None, *, min_bytes: int = PROCESS_MIN_BYTES) -> None:
        self._processes = processes if processes is not None else min(4, os.cpu_count() or 1)
        self._min_bytes = min_bytes
        self._executor: Executor | None = None

    async def __aenter__(self) -> Self:
        if self._processes > 1:
            # forkserver: workers start from a clean process, not a copy of one with threads and sockets.
            context = multiprocessing.get_context("forkserver")
            self._executor = ProcessPoolExecutor(self._processes, mp_context=context)
            await self._warm()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._executor is not None:
            await asyncio.to_thread(self._executor.shutdown, True, cancel_futures=True)
            self._executor = None

    async def parse(
        self,
        data: bytes,
        *,
        source_id: int,
        source_name: str,
        fetched_at: datetime,
        url: str = "",
        headers: Mapping[str, str] | None = None,
        max_entries: int = MAX_ENTRIES,
    ) -> ParsedBatch:
        args = (data, source_id, source_name, fetched_at, url, dict(headers or {}), max_entries)
        executor = self._executor
        if executor is None or len(data) < self._min_bytes:
            return await asyncio.to_thread(parse_batch, *args)
        try:
            return await asyncio.get_running_loop().run_in_executor(executor, parse_batch, *args)
        except BrokenProcessPool:
            # A worker died (out of memory, killed): parse here, and stop using the broken pool.
            log.warning("parse pool broken; parsing in threads from now on")
            self._executor = None
            return await asyncio.to_thread(parse_batch, *args)

    async def _warm(self) -> None:
        # Start every worker now (each imports the parser), not during the first poll.
        assert self._executor is not None
        loop = asyncio.get_running_loop()
        await asyncio.gather(
            *(loop.run_in_executor(self._executor, os.getpid) for _ in range(self._processes))
        )
