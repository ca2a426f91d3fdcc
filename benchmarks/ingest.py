"""Ingest benchmark: prints one JSON line of figures.

(a) Articles per second through fetch, parse, normalise, de-duplicate and store (storywatch's ingest into a
    SQLite file) against a typical Python feed bot on the same bytes over the same HTTP: feedparser.parse
    with defaults, then one INSERT and one commit per entry. Corpus: ../shared/feeds/real, or generated
    feeds where that folder is absent.
(b) One full poll pass over 5,000 feeds at distinct URLs on 1,000 host names (all resolving to loopback),
    the second pass, where 80% answer 304 to the conditional request: wall time and peak RSS.

The feed server runs in a child process, so the RSS measured is the bot's own.
Usage: python benchmarks/ingest.py [--rounds 3] [--feeds 5000]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import logging
import multiprocessing
import random
import resource
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import aiohttp
import feedparser
from aiohttp import web

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.clock import ManualClock  # noqa: E402
from bot.config import IngestSettings  # noqa: E402
from bot.ingest.fetch import Fetcher  # noqa: E402
from bot.ingest.pool import ParsePool  # noqa: E402
from bot.pipeline.polling import poll_due  # noqa: E402
from bot.store import Store, open_store  # noqa: E402
from bot.store.sources import add_source  # noqa: E402

SHARED_REAL = ROOT.parent / "shared" / "feeds" / "real"
START = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
HOSTS = 1000


def corpus() -> tuple[list[tuple[str, bytes]], str]:
    """The real-feed corpus, or generated feeds (stated in the output) where ../shared is absent."""
    if SHARED_REAL.is_dir():
        files = sorted(p for p in SHARED_REAL.iterdir() if p.suffix in (".xml", ".json"))
        return [(p.name, p.read_bytes()) for p in files], "shared/feeds/real"
    return [(f"gen-{i}.xml", generated_feed(i, 0, 40)) for i in range(80)], "generated"


_SYLLABLES = ("ka", "lo", "mi", "ren", "tas", "vo", "qui", "bar", "nel", "dor", "sa", "pex", "ul", "tri")


def _words(seed: int, count: int) -> str:
    """Deterministic word salad: distinct texts, so syndication checks see realistic variety."""
    rng = random.Random(seed)
    return " ".join("".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(1, 3))) for _ in range(count))


def generated_feed(number: int, version: int, entries: int = 10) -> bytes:
    """A plausible RSS 2.0 feed; `version` shifts its window so a bumped feed has new items."""
    items = []
    for k in range(version, version + entries):
        when = START - timedelta(hours=k)
        seed = number * 100_003 + k
        items.append(
            f"<item><title>{_words(seed, 9)}</title>"
            f"<link>https://outlet{number}.example/news/{k}?utm_source=rss</link>"
            f"<guid>outlet{number}-{k}</guid><pubDate>{format_datetime(when)}</pubDate>"
            f"<description>&lt;p&gt;{_words(-seed, 45)}&lt;/p&gt;</description></item>"
        )
    return (
        f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Outlet {number}</title>'
        f"<link>https://outlet{number}.example/</link>{''.join(items)}</channel></rss>"
    ).encode()


def serve(files: dict[str, bytes], feeds: int, ready: Any, port_out: Any) -> None:
    """Child process: corpus files at /real/<name>, generated feeds at /f/<n>, POST /bump changes 20%."""
    versions = dict.fromkeys(range(feeds), 0)
    cache: dict[tuple[int, int], tuple[bytes, str]] = {}

    async def real(request: web.Request) -> web.Response:
        body = files.get(request.match_info["name"])
        if body is None:
            raise web.HTTPNotFound()
        return web.Response(body=body, content_type="application/xml")

    async def generated(request: web.Request) -> web.Response:
        n = int(request.match_info["n"])
        key = (n, versions[n])
        if key not in cache:
            body = generated_feed(n, versions[n])
            cache[key] = (body, '"' + hashlib.sha1(body).hexdigest()[:16] + '"')
        body, etag = cache[key]
        if request.headers.get("If-None-Match") == etag:
            return web.Response(status=304, headers={"ETag": etag})
        return web.Response(body=body, headers={"ETag": etag, "Content-Type": "application/rss+xml"})

    async def bump(_request: web.Request) -> web.Response:
        for n in range(0, feeds, 5):
            versions[n] += 3
        return web.Response(text="ok")

    async def main() -> None:
        app = web.Application()
        app.router.add_get("/real/{name}", real)
        app.router.add_get("/f/{n}", generated)
        app.router.add_post("/bump", bump)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0, backlog=1024)
        await site.start()
        port_out.value = runner.addresses[0][1]
        ready.set()
        await asyncio.Event().wait()

    asyncio.run(main())


def bench_settings() -> IngestSettings:
    return IngestSettings(
        contact="benchmark",
        allow_private_sources=True,
        politeness_delay_s=0.0,
        per_host_concurrency=8,
        total_concurrency=64,
        timeout_s=30.0,
    )


async def loopback_lookup(_host: str, _port: int) -> list[str]:
    # Every benchmark host name is a stand-in for a publisher; all of them live on this machine.
    return ["127.0.0.1"]


async def ours(base: str, names: list[str], workdir: Path) -> tuple[int, float]:
    """Entries taken in per second by storywatch's ingest, from fetch to a committed row."""
    store = await open_store(f"sqlite+aiosqlite:///{workdir / 'ours.sqlite'}")
    clock = ManualClock(START)
    try:
        for name in names:
            await add_source(store, f"{base}/real/{name}", now=clock.now())
        async with ParsePool() as parser, Fetcher(bench_settings(), clock) as fetcher:
            # A running bot keeps its parse workers: their start-up is not part of a poll.
            began = time.perf_counter()
            report = await poll_due(
                store, fetcher, clock=clock, settings=bench_settings(), owner="bench", parser=parser
            )
            elapsed = time.perf_counter() - began
        entries = sum(p.new + p.folded + p.seen for p in report.polls)
        return entries, elapsed
    finally:
        await store.close()


async def baseline(base: str, names: list[str], workdir: Path) -> tuple[int, float]:
    """The typical bot: GET, feedparser.parse with defaults, then INSERT + commit per entry."""
    db = sqlite3.connect(workdir / "baseline.sqlite")
    db.execute(
        "CREATE TABLE IF NOT EXISTS entries (id INTEGER PRIMARY KEY, link TEXT UNIQUE, title TEXT,"
        " summary TEXT, published TEXT, feed TEXT)"
    )
    db.commit()
    entries = 0
    began = time.perf_counter()
    async with aiohttp.ClientSession() as session:
        bodies = await asyncio.gather(*(_get(session, f"{base}/real/{name}") for name in names))
    for name, body in zip(names, bodies, strict=True):
        parsed = feedparser.parse(body)
        for entry in parsed.entries:
            db.execute(
                "INSERT OR IGNORE INTO entries (link, title, summary, published, feed)"
                " VALUES (?, ?, ?, ?, ?)",
                (entry.get("link"), entry.get("title"), entry.get("summary"), entry.get("published"), name),
            )
            db.commit()
            entries += 1
    elapsed = time.perf_counter() - began
    db.close()
    return entries, elapsed


async def _get(session: aiohttp.ClientSession, url: str) -> bytes:
    async with session.get(url) as response:
        return await response.read()


async def poll_pass_5000(port: int, feeds: int, workdir: Path) -> float:
    store = await open_store(f"sqlite+aiosqlite:///{workdir / 'many.sqlite'}")
    clock = ManualClock(START)
    settings = IngestSettings(
        contact="benchmark",
        allow_private_sources=True,
        per_host_concurrency=2,
        politeness_delay_s=0.5,
        total_concurrency=64,
        timeout_s=30.0,
    )
    try:
        await _add_many(store, port, feeds, clock)
        async with ParsePool() as parser, Fetcher(settings, clock, lookup=loopback_lookup) as fetcher:
            await poll_due(store, fetcher, clock=clock, settings=settings, owner="bench", parser=parser)
            async with aiohttp.ClientSession() as session:
                await session.post(f"http://127.0.0.1:{port}/bump")
            clock.advance(settings.poll_interval_s + 1)
            began = time.perf_counter()
            report = await poll_due(
                store, fetcher, clock=clock, settings=settings, owner="bench", parser=parser
            )
            elapsed = time.perf_counter() - began
        errors = sum(1 for p in report.polls if p.status == "error")
        if len(report.polls) != feeds or errors:
            raise SystemExit(f"second pass polled {len(report.polls)} of {feeds} feeds, {errors} errors")
        return elapsed
    finally:
        await store.close()


async def _add_many(store: Store, port: int, feeds: int, clock: ManualClock) -> None:
    from sqlalchemy import insert

    from bot.store.schema import sources

    rows = [
        {
            "url": f"http://feeds{n % HOSTS}.bench.test:{port}/f/{n}",
            "title": f"Outlet {n}",
            "poll_interval_s": 900,
            "next_poll_at": clock.now(),
            "created_at": clock.now(),
        }
        for n in range(feeds)
    ]
    async with store.write() as conn:
        await conn.execute(insert(sources), rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--feeds", type=int, default=5000)
    args = parser.parse_args()
    # Broken corpus feeds log a warning per poll; the figures are the output here.
    logging.basicConfig(level=logging.ERROR)
    files, corpus_name = corpus()
    names = [name for name, _ in files]
    ctx = multiprocessing.get_context("spawn")
    ready, port = ctx.Event(), ctx.Value("i", 0)
    server = ctx.Process(target=serve, args=(dict(files), args.feeds, ready, port), daemon=True)
    server.start()
    try:
        if not ready.wait(30):
            raise SystemExit("the feed server did not start")
        base = f"http://127.0.0.1:{port.value}"
        ours_rates, base_rates = [], []
        entries = 0
        for _ in range(args.rounds):
            with tempfile.TemporaryDirectory() as tmp:
                entries, seconds = asyncio.run(ours(base, names, Path(tmp)))
                ours_rates.append(entries / seconds)
            with tempfile.TemporaryDirectory() as tmp:
                base_entries, seconds = asyncio.run(baseline(base, names, Path(tmp)))
                base_rates.append(base_entries / seconds)
        with tempfile.TemporaryDirectory() as tmp:
            poll_s = asyncio.run(poll_pass_5000(port.value, args.feeds, Path(tmp)))
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    finally:
        server.terminate()
        server.join(5)
    ours_median, base_median = statistics.median(ours_rates), statistics.median(base_rates)
    print(
        json.dumps(
            {
                "bench": "ingest",
                "corpus": corpus_name,
                "feeds": len(names),
                "entries": entries,
                "rounds": args.rounds,
                "articles_per_s": round(ours_median, 1),
                "baseline_articles_per_s": round(base_median, 1),
                "ratio": round(ours_median / base_median, 2),
                "poll_feeds": args.feeds,
                "poll_not_modified_share": 0.8,
                "poll_pass_s": round(poll_s, 2),
                "peak_rss_mb": round(peak_mb, 1),
            }
        )
    )


if __name__ == "__main__":
    main()
