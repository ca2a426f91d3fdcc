"""The multi-process replay: the demo's seed feeds, worker processes of `storywatch run` on PostgreSQL, the
fake Slack, and a clock the driver jumps from one poll to the next as the demo does.

The clock stands still between jumps, so each jump's polls form one poll pass (one stamp), whatever
worker polls which source. The driver jumps only once every source due has been polled (the poll
barrier); the engine, fan-out and delivery catch up on their own.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

from sqlalchemy import func, select, text

from bot.clock import ManualClock
from bot.config import load_settings
from bot.demo.replay import ReplayServer, default_seeds_dir, start_replay_server
from bot.models import AlertMode, Destination, Platform, Subscription, Topic
from bot.store import Store, open_store
from bot.store.schema import engine_inbox, engine_partitions, outbox, sources, workers
from bot.store.sources import add_source
from bot.store.subscriptions import upsert_subscription
from bot.store.topics import upsert_topic
from tests.conftest import ROOT
from tests.fakes.slack import FakeSlack

TOPIC = "korea-diplomacy"
TEAM = "T1"
ALERTS, DIGESTS = "C1", "C2"
DIGEST_AT = time(8, 0)
DIGEST_ZONE = "Asia/Seoul"
POLL_STEP = timedelta(hours=12)
LEASE_S = 60


def ticks(server: ReplayServer) -> list[datetime]:
    """The demo's poll times: from just before the first entry, every POLL_STEP or on to the next entry."""
    times = sorted(e.published for feed in server.feeds for e in feed.entries)
    now = times[0] - timedelta(minutes=1)
    out = [now]
    while (upcoming := next((t for t in times if t > now), None)) is not None:
        now = max(now + POLL_STEP, upcoming)
        out.append(now)
    return out


def worker_config(path: Path, db_url: str, slack_url: str, partitions: int) -> Path:
    sample = load_settings(default_seeds_dir() / "storywatch.toml", env={})
    lines = [
        f'database_url = "{db_url}"',
        'log_level = "INFO"',
        "[ingest]",
        'contact = "storywatch multi-process test"',
        'allowed_private_hosts = ["127.0.0.1"]',
        "politeness_delay_s = 0.0",
        "per_host_concurrency = 32",
        f"poll_interval_s = {int(POLL_STEP.total_seconds())}",
        "timeout_s = 10.0",
        "[engine]",
        'model = "none"',
        f"partitions = {partitions}",
        "[workers]",
        f"lease_s = {LEASE_S}",
        "poll_every_s = 0.2",
        "engine_every_s = 0.2",
        "deliver_every_s = 0.2",
        "[slack]",
        "enabled = true",
        'mode = "socket"',
        f'api_url = "{slack_url}"',
    ]
    for topic in sample.topics:
        lines += [
            "[[topics]]",
            f'id = "{topic.id}"',
            f"name = {_toml(topic.name)}",
            f"query = {_toml(topic.query)}",
        ]
        if topic.description:
            lines.append(f"description = {_toml(topic.description)}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _toml(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


@dataclass
class Worker:
    name: str
    roles: str
    process: asyncio.subprocess.Process
    log: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def stopped(self) -> bool:
        """Whether the process is stopped by a signal (state T in /proc)."""
        try:
            stat = Path(f"/proc/{self.pid}/stat").read_text()
        except OSError:
            return False
        return stat.rsplit(")", 1)[1].split()[0] in ("T", "t")

    def log_text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")


@dataclass
class Replay:
    """One replay's world: its database, feed server, fake Slack, clock and workers."""

    folder: Path
    db_url: str
    store: Store
    slack: FakeSlack
    server: ReplayServer
    clock: ManualClock
    clock_file: Path
    config: Path
    workers: list[Worker] = field(default_factory=list)

    def set_time(self, when: datetime) -> None:
        """Move the clock the feeds and every worker read."""
        self.clock.set(when)
        scratch = self.clock_file.with_suffix(".tmp")
        scratch.write_text(when.isoformat(), encoding="utf-8")
        os.replace(scratch, self.clock_file)

    async def start_worker(self, name: str, roles: str, *, pause_at: int | None = None) -> Worker:
        log = self.folder / f"{name}.log"
        head = [str(self.clock_file)] + ([str(pause_at)] if pause_at is not None else [])
        env = {k: v for k, v in os.environ.items() if not k.startswith(("STORYWATCH_", "SLACK_", "DISCORD_"))}
        env |= {"SLACK_BOT_TOKEN": "xoxb-test", "SLACK_APP_TOKEN": "xapp-test", "PYTHONPATH": str(ROOT)}
        with log.open("wb") as out:
            process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "tests.scale.worker", *head, "--",
                "run", "--config", str(self.config), "--role", roles,
                stdin=asyncio.subprocess.DEVNULL, stdout=out, stderr=out, cwd=ROOT, env=env,
            )  # fmt: skip
        worker = Worker(name, roles, process, log)
        self.workers.append(worker)
        owner_suffix = f":{process.pid}"
        await self.until(lambda: self._registered(owner_suffix), f"{name} to start", 90)
        return worker

    async def _registered(self, suffix: str) -> bool:
        async with self.store.read() as conn:
            owners = (await conn.execute(select(workers.c.owner))).scalars().all()
        return any(owner.endswith(suffix) for owner in owners)

    async def until(self, check: Callable[[], Awaitable[bool]], what: str, seconds: float = 120.0) -> None:
        for _ in range(int(seconds / 0.05)):
            if await check():
                return
            for worker in self.workers:
                if worker.process.returncode not in (None, -signal.SIGKILL):
                    raise AssertionError(f"{worker.name} exited: {worker.log_text()[-3000:]}")
            await asyncio.sleep(0.05)
        raise AssertionError(f"waited {seconds} s for {what}")

    async def polled(self) -> bool:
        """Every source due now has been polled (the poll barrier)."""
        now = self.clock.now()
        query = select(func.count()).where(sources.c.disabled_at.is_(None), sources.c.next_poll_at <= now)
        async with self.store.read() as conn:
            return int((await conn.execute(query)).scalar_one()) == 0

    async def settled(self) -> bool:
        """Every partition has decided the whole inbox and the outbox holds nothing to send."""
        async with self.store.read() as conn:
            newest = (await conn.execute(select(func.max(engine_inbox.c.id)))).scalar() or 0
            behind = (
                await conn.execute(select(func.count()).where(engine_partitions.c.inbox_id < newest))
            ).scalar_one()
            waiting = (
                await conn.execute(select(func.count()).where(outbox.c.status == "pending"))
            ).scalar_one()
        return int(behind) == 0 and int(waiting) == 0

    async def digest_queued(self, at: datetime) -> bool:
        """A digest was queued at `at` or later (the one due then)."""
        query = select(func.count()).where(outbox.c.kind == "digest", outbox.c.created_at >= at)
        async with self.store.read() as conn:
            return int((await conn.execute(query)).scalar_one()) > 0

    async def partition_caught_up(self, partition: int, generation: int) -> bool:
        """Another worker holds the partition under a newer generation and has decided what is due."""
        now = self.clock.now()
        async with self.store.read() as conn:
            row = (
                await conn.execute(
                    select(engine_partitions).where(engine_partitions.c.partition == partition)
                )
            ).one()
            due = (
                await conn.execute(select(func.max(engine_inbox.c.id)).where(engine_inbox.c.batch_at < now))
            ).scalar() or 0
        return int(row.generation) > generation and int(row.inbox_id) >= int(due)

    async def stop(self) -> None:
        for worker in self.workers:
            if worker.process.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    worker.process.send_signal(signal.SIGCONT)
                    worker.process.send_signal(signal.SIGTERM)
        for worker in self.workers:
            try:
                async with asyncio.timeout(60):
                    await worker.process.wait()
            except TimeoutError:
                worker.process.kill()
                await worker.process.wait()


async def prepare(folder: Path, db_url: str, partitions: int) -> Replay:
    """The database with the seed feeds as sources and two channels following the demo's topic."""
    clock = ManualClock(datetime(2000, 1, 1, tzinfo=UTC))
    server = await start_replay_server(default_seeds_dir(), clock)
    slack = await FakeSlack().start()
    slack.channels = {ALERTS: {"is_channel": True}, DIGESTS: {"is_channel": True}}
    store = await open_store(db_url)
    start = ticks(server)[0]
    clock.set(start)
    for url in server.feed_urls:
        await add_source(store, url, now=start, poll_interval_s=int(POLL_STEP.total_seconds()))
    for topic in load_settings(default_seeds_dir() / "storywatch.toml", env={}).topics:
        topic_row = Topic(topic.id, topic.name, topic.query, tuple(topic.sources), topic.description)
        await upsert_topic(store, topic_row, now=start)
    alerts = Subscription(Destination(Platform.SLACK, TEAM, ALERTS), TOPIC, mode=AlertMode.INSTANT)
    digests = Subscription(
        Destination(Platform.SLACK, TEAM, DIGESTS), TOPIC, mode=AlertMode.DIGEST,
        digest_at=DIGEST_AT, timezone=DIGEST_ZONE,
    )  # fmt: skip
    await upsert_subscription(store, alerts, now=start)
    await upsert_subscription(store, digests, now=start)
    config = worker_config(folder / "worker.toml", db_url, slack.api_url, partitions)
    replay = Replay(folder, db_url, store, slack, server, clock, folder / "clock", config)
    replay.set_time(start)
    return replay


async def close(replay: Replay) -> None:
    await replay.stop()
    await replay.store.close()
    await replay.slack.stop()
    await replay.server.stop()


@dataclass(frozen=True)
class Outcome:
    """What a replay left, with ids replaced by what they stand for (the articles' URLs)."""

    developments: frozenset[tuple[str, frozenset[str]]]
    stories: frozenset[frozenset[tuple[str, frozenset[str]]]]
    alerted: frozenset[tuple[str, frozenset[str]]]
    posts: Counter[str]
    alert_rows: int
    digest_posts: Counter[str]


async def outcome(replay: Replay) -> Outcome:
    async with replay.store.read() as conn:
        rows = (
            await conn.execute(
                text(
                    "SELECT d.id, d.topic_id, d.story_id, a.url FROM developments d"
                    " JOIN development_articles da ON da.development_id = d.id"
                    " JOIN articles a ON a.id = da.article_id"
                )
            )
        ).all()
        alerted_ids = (
            (
                await conn.execute(
                    select(outbox.c.development_id).where(outbox.c.kind == "alert", outbox.c.status == "sent")
                )
            )
            .scalars()
            .all()
        )
        unsent = (
            await conn.execute(
                select(outbox.c.kind, outbox.c.status, outbox.c.last_error).where(outbox.c.status != "sent")
            )
        ).all()
    assert not unsent, f"messages not sent: {unsent}"
    urls: dict[int, set[str]] = {}
    topic_of: dict[int, str] = {}
    story_of: dict[int, int] = {}
    for dev_id, topic_id, story_id, url in rows:
        urls.setdefault(dev_id, set()).add(url)
        topic_of[dev_id], story_of[dev_id] = topic_id, story_id
    sign = {d: (topic_of[d], frozenset(u)) for d, u in urls.items()}
    stories: dict[int, set[tuple[str, frozenset[str]]]] = {}
    for dev_id, signature in sign.items():
        stories.setdefault(story_of[dev_id], set()).add(signature)
    keys: Counter[str] = Counter()
    digests: Counter[str] = Counter()
    for post in replay.slack.posts:
        payload = (post.metadata or {}).get("event_payload") or {}
        key = str(payload.get("key", ""))
        if not key.endswith("#0"):
            continue
        if post.channel == DIGESTS:
            digests[key] += 1
        else:
            keys[key] += 1
    return Outcome(
        developments=frozenset(sign.values()),
        stories=frozenset(frozenset(s) for s in stories.values()),
        alerted=frozenset(sign[d] for d in alerted_ids if d in sign),
        posts=keys,
        alert_rows=len(alerted_ids),
        digest_posts=digests,
    )
