"""`storywatch demo`: the seed feeds served on loopback as live news, polled by the real ingest.

The demo's clock runs at wall speed and jumps from one poll to the next, skipping the quiet years between
stories, so eight years of news replay in seconds. Its last line is a stable summary that tests and
users can read.
"""

from __future__ import annotations

import shlex
import tempfile
from collections.abc import Sequence
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import TextIO, cast
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from rich.console import Console
from rich.markup import escape

from adapters.console import ConsoleAdapter
from bot.clock import SteppedClock
from bot.config import DigestSettings, IngestSettings, Settings, load_settings
from bot.demo.replay import ReplayServer, default_seeds_dir, start_replay_server
from bot.ingest.fetch import Fetcher
from bot.models import AlertMode, Destination, Platform, Subscription, Topic
from bot.operations.workers import worker_id
from bot.pipeline.poll_pass import poll_pass
from bot.pipeline.polling import PollReport
from bot.store import Store, open_store
from bot.store.overview import pipeline_totals
from bot.store.sources import add_source, list_sources, restart_source
from bot.store.subscriptions import list_subscriptions, upsert_subscription
from bot.store.topics import list_topics, upsert_topic
from bot.stories.embedding import load_embedder
from jobs.delivery import Deliverer
from jobs.digests import run_due_digests
from jobs.engine import EngineJob

DEMO_TOPIC = "korea-diplomacy"
DEMO_CHANNEL = Destination(Platform.CONSOLE, "local", "console")
DIGEST_AT = time(8, 0)
DIGEST_ZONE = "Asia/Seoul"
# Story time between two polls of a source: a busy newsroom feed would be polled far more often, but
# the seed stream's developments unfold over days, and fewer steps keep the demo well under a minute.
POLL_STEP = timedelta(hours=12)
# A console configuration in seeds/ with live feeds and the demo's topic: what the demo ends by suggesting.
TRY_CONFIG = "console.toml"


def demo_ingest_settings() -> IngestSettings:
    # Every seed feed lives on one loopback host, so the per-host politeness that protects publishers
    # would only slow the replay down.
    return IngestSettings(
        contact="storywatch demo",
        allowed_private_hosts=("127.0.0.1",),
        politeness_delay_s=0.0,
        per_host_concurrency=32,
        poll_interval_s=int(POLL_STEP.total_seconds()),
        timeout_s=10.0,
    )


async def run_demo(
    data_dir: Path | None, console: Console, seeds_dir: Path | None = None, *, verbose: bool = False
) -> int:
    """Run the demo; returns the exit status (0 when every poll pass completed).

    It prints what the channel sees (the alerts, then the digest) and a tally of the polls; `verbose`
    adds each poll's new articles.
    """
    with tempfile.TemporaryDirectory(prefix="storywatch-demo-") as scratch:
        folder = data_dir if data_dir is not None else Path(scratch)
        store = await open_store(f"sqlite+aiosqlite:///{folder / 'storywatch.sqlite'}")
        try:
            return await _replay(store, folder, console, seeds_dir or default_seeds_dir(), verbose)
        finally:
            await store.close()


async def _replay(store: Store, folder: Path, console: Console, seeds_dir: Path, verbose: bool) -> int:
    clock = SteppedClock(datetime(2000, 1, 1, tzinfo=UTC))
    server = await start_replay_server(seeds_dir, clock)
    try:
        clock.set(server.first_published - timedelta(minutes=1))
        settings = demo_ingest_settings()
        await _register_sources(store, server, clock.now(), settings.poll_interval_s)
        await _subscribe_console(store, seeds_dir, clock.now())
        before = await pipeline_totals(store)
        console.print(
            f"storywatch demo: {len(server.feeds)} seed feeds at {server.base_url}, "
            f"{server.entry_count} entries from {server.first_published:%Y-%m-%d} "
            f"to {server.last_published:%Y-%m-%d}; database {folder / 'storywatch.sqlite'}"
        )
        console.print(
            f"#{DEMO_CHANNEL.channel} follows '{DEMO_TOPIC}' (alerts, and a digest at "
            f"{DIGEST_AT:%H:%M} {DIGEST_ZONE}); time runs from one poll to the next, skipping quiet days. "
            "Below, what the channel sees"
            + (
                ", and each poll's new articles."
                if verbose
                else " (--verbose adds each poll's new articles)."
            )
        )
        entry_times = sorted(e.published for feed in server.feeds for e in feed.entries)
        adapter = ConsoleAdapter(output=cast(TextIO, console.file), width=console.width)
        deliverer = Deliverer(store, {Platform.CONSOLE: adapter}, clock, owner=worker_id())
        # The engine stage as `storywatch run` has it: its partition under a lease, the inbox the polls fill.
        engine = EngineJob(store, clock, Settings(), owner=worker_id(), embedder=load_embedder("auto"))
        totals = PollReport()
        polls = 0
        async with Fetcher(settings, clock) as fetcher:
            while True:
                report = await poll_pass(store, fetcher, clock=clock, settings=settings, owner=worker_id())
                polls += 1
                totals.polls.extend(report.polls)
                if verbose:
                    _print_poll(console, clock.now(), polls, report)
                await engine.run()
                await deliverer.drain()
                upcoming = _next_entry(entry_times, clock.now())
                if upcoming is None:
                    break
                clock.set(max(clock.now() + POLL_STEP, upcoming))
        # The quiet years' daily digests are skipped with the days themselves; the next one is shown.
        clock.set(_next_digest_time(clock.now()))
        if any(o.status == "sent" for o in await run_due_digests(store, clock, DigestSettings())):
            console.print(
                f"[bold]{clock.now().astimezone(ZoneInfo(DIGEST_ZONE)):%Y-%m-%d %H:%M} {DIGEST_ZONE}[/bold]: "
                "the daily digest"
            )
        await deliverer.drain()
        await deliverer.stop(drain=True)
        await engine.stop()
        after = await pipeline_totals(store)
        sources = await list_sources(store)
        if totals.new == 0:
            console.print(f"nothing new: all {totals.seen} entries seen were already stored")
        console.print(
            f"{polls} polls of {len(sources)} feeds: {totals.new} articles, "
            f"{totals.folded} duplicates folded, {totals.errors} errors; "
            f"{server.stats.feed_requests} requests ({server.stats.not_modified} not modified)"
        )
        _print_try_it(console, seeds_dir)
        delta = {key: after[key] - before.get(key, 0) for key in after}
        console.print(
            f"summary: articles={totals.new} duplicates={totals.folded} "
            f"sources={len(sources)} errors={totals.errors} developments={delta['developments']} "
            f"stories={delta['stories']} alerts={delta['alert']} digests={delta['digest']}"
        )
        return 0 if totals.errors == 0 else 1
    finally:
        await server.stop()


async def _subscribe_console(store: Store, seeds_dir: Path, now: datetime) -> list[Topic]:
    """The sample configuration's topics, and the console channel subscribed to one in both modes."""
    sample = load_settings(seeds_dir / "storywatch.toml", env={})
    for topic in sample.topics:
        await upsert_topic(
            store,
            Topic(topic.id, topic.name, topic.query, tuple(topic.sources), topic.description),
            now=now,
        )
    subscription = Subscription(
        DEMO_CHANNEL, DEMO_TOPIC, mode=AlertMode.BOTH, digest_at=DIGEST_AT, timezone=DIGEST_ZONE
    )
    current = {s.topic_id for s in await list_subscriptions(store, DEMO_CHANNEL)}
    if DEMO_TOPIC not in current:
        await upsert_subscription(store, subscription, now=now)
    return await list_topics(store)


def _print_try_it(console: Console, seeds_dir: Path) -> None:
    """How to go on from here: the bot itself, on live feeds, following the demo's topic in this terminal."""
    config = seeds_dir / TRY_CONFIG
    if not config.is_file():
        return
    console.print(
        f"Try it on live feeds: storywatch run --config {escape(shlex.quote(str(config)))}\n"
        f"  then type: subscribe {DEMO_TOPIC}   (help lists the commands, quit ends)",
        highlight=False,
    )


def _next_digest_time(now: datetime) -> datetime:
    local = now.astimezone(ZoneInfo(DIGEST_ZONE))
    due = datetime.combine(local.date(), DIGEST_AT, ZoneInfo(DIGEST_ZONE))
    if due <= local:
        due += timedelta(days=1)
    return due.astimezone(UTC) + timedelta(minutes=1)


async def _register_sources(store: Store, server: ReplayServer, now: datetime, interval_s: int) -> None:
    """Add each seed feed once; on a later run, move the demo's sources to this run's port and clock."""
    by_path = {urlsplit(s.url).path: s for s in await list_sources(store)}
    for url in server.feed_urls:
        existing = by_path.get(urlsplit(url).path)
        if existing is None:
            await add_source(store, url, now=now, poll_interval_s=interval_s)
            continue
        # The replay restarts at the first entry: its schedule and any dead run's lease start over too.
        await restart_source(store, existing.id, url=url, now=now)


def _next_entry(times: Sequence[datetime], now: datetime) -> datetime | None:
    return next((t for t in times if t > now), None)


def _print_poll(console: Console, now: datetime, number: int, report: PollReport) -> None:
    fresh = report.saved
    errors = [p for p in report.polls if p.status == "error"]
    if not fresh and not errors and not report.folded:
        return
    unchanged = sum(1 for p in report.polls if p.status == "not_modified")
    console.print(
        f"[bold]{now:%Y-%m-%d %H:%M} UTC[/bold] poll {number}: {len(fresh)} new, "
        f"{report.folded} duplicates folded, {len(report.polls)} sources polled ({unchanged} not modified)"
    )
    for article in fresh:
        console.print(f"  + {escape(article.source_name)}: {escape(article.title)}", highlight=False)
    for poll in errors:
        console.print(f"  ! {escape(poll.source.url)}: {escape(poll.error or '')}", highlight=False)
