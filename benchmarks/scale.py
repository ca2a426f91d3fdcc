"""Scale benchmark (issue 13): several worker processes on PostgreSQL; prints one JSON line.

(a) Poll stage: 20,000 feeds on 1,000 host names (all loopback), 80% answering 304 and 20% with five new
    entries, polled by 1, 2 and 4 worker processes at once (the real poll_due, each process claiming
    sources with its own leases): the pass's wall time, feeds/s and articles/s, the speed-up over one.
(b) Engine stage: 200 topics in 4 partitions, a slice of synthetic news in the engine inbox, decided by
    1, 2 and 4 engine workers (the real EngineJob, the model loaded in each): articles/s, per process.
(c) Outbox: messages over many channels drained by 1, 2 and 4 delivery workers (the real Deliverer) to a
    fake platform in its own process that takes any rate.
(d) State save at 200k articles of history (200 topics, the model on, one partition holding them all,
    the worst case): a batch's journal entry written in a transaction, against the whole-blob snapshot
    the engine wrote after every batch before.

The feed server and the fake platform run in processes of their own; on 2 cores they compete with the
workers, as they would not in a deployment. Usage: python benchmarks/scale.py [--quick] [--pg-url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import random
import resource
import statistics
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any, ClassVar

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from sqlalchemy import delete, insert, select, update  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from bot.clock import ManualClock  # noqa: E402
from bot.config import EngineSettings, IngestSettings, Settings, WorkerSettings  # noqa: E402
from bot.ingest.fetch import Fetcher  # noqa: E402
from bot.models import Platform, Topic  # noqa: E402
from bot.pipeline.partition_engine import SAVE_EVERY  # noqa: E402
from bot.pipeline.polling import poll_due  # noqa: E402
from bot.pipeline.replay import decision_digest  # noqa: E402
from bot.store import open_store  # noqa: E402
from bot.store.articles import save_articles  # noqa: E402
from bot.store.engine_inbox import queue_for_engine  # noqa: E402
from bot.store.engine_journal import append_journal, write_snapshot  # noqa: E402
from bot.store.partitions import ensure_partitions, register_worker  # noqa: E402
from bot.store.schema import (  # noqa: E402
    development_articles,
    developments,
    engine_journal,
    engine_partitions,
    engine_snapshots,
    outbox,
    sources,
    stories,
    workers,
)
from bot.store.sources import add_source  # noqa: E402
from bot.store.state import put_engine_state  # noqa: E402
from bot.stories.embedding import load_embedder  # noqa: E402
from bot.stories.partition_state import batch_entry, restore  # noqa: E402
from bot.stories.state import dump_engine  # noqa: E402

T0 = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
HOSTS = 1000
ENTRIES = 5
_SYLLABLES = ("ka", "lo", "mi", "ren", "tas", "vo", "qui", "bar", "nel", "dor", "sa", "pex", "ul", "tri")


# --- the feed server: a few lines of asyncio, so its CPU does not drown the workers' -------------------


def _words(rng: random.Random, count: int) -> str:
    return " ".join("".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(1, 3))) for _ in range(count))


def feed_body(number: int, version: int) -> bytes:
    items = []
    for k in range(version, version + ENTRIES):
        rng = random.Random(number * 100_003 + k)
        when = format_datetime(T0 - timedelta(hours=ENTRIES - k))
        items.append(
            f"<item><title>{_words(rng, 9)}</title><link>https://outlet{number}.example/news/{k}</link>"
            f"<guid>outlet{number}-{k}</guid><pubDate>{when}</pubDate>"
            f"<description>{_words(rng, 40)}</description></item>"
        )
    return (
        f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Outlet {number}</title>'
        f"<link>https://outlet{number}.example/</link>{''.join(items)}</channel></rss>"
    ).encode()


def etag(number: int, version: int) -> str:
    return f'"{number}-{version}"'


class _FeedProtocol(asyncio.Protocol):
    """GET /f/<n> (200, or 304 to a matching If-None-Match), POST /bump/<r>: keep-alive HTTP/1.1."""

    versions: ClassVar[dict[int, int]] = {}

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport: asyncio.Transport = transport  # type: ignore[assignment]
        self.buffer = b""

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while b"\r\n\r\n" in self.buffer:
            head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
            lines = head.decode("latin-1").split("\r\n")
            method, target, _ = lines[0].split(" ", 2)
            match = next(
                (ln.split(":", 1)[1].strip() for ln in lines[1:] if ln.lower().startswith("if-none-match")),
                None,
            )
            self.transport.write(self._answer(method, target, match))

    def _answer(self, method: str, target: str, match: str | None) -> bytes:
        parts = target.split("/")
        if method == "POST" and parts[1] == "bump":
            share = int(parts[2])
            for n in list(self.versions):
                if n % 5 == share % 5:
                    self.versions[n] += 1
            return b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
        number = int(parts[2])
        version = self.versions.setdefault(number, 0)
        tag = etag(number, version)
        if match == tag:
            return f"HTTP/1.1 304 Not Modified\r\nETag: {tag}\r\nContent-Length: 0\r\n\r\n".encode()
        body = feed_body(number, version)
        head = (
            f"HTTP/1.1 200 OK\r\nETag: {tag}\r\nContent-Type: application/rss+xml\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        )
        return head.encode() + body


def serve_feeds(feeds: int, ready: Any, port_out: Any) -> None:
    _FeedProtocol.versions = dict.fromkeys(range(feeds), 0)

    async def main() -> None:
        server = await asyncio.get_running_loop().create_server(_FeedProtocol, "127.0.0.1", 0, backlog=2048)
        port_out.value = server.sockets[0].getsockname()[1]
        ready.set()
        await asyncio.Event().wait()

    asyncio.run(main())


# --- worker processes: `scale.py worker ROLE DB_URL ...`, "go" on stdin, one JSON line when done -------


async def loopback(_host: str, _port: int) -> list[str]:
    return ["127.0.0.1"]


def _usage() -> dict[str, float]:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {
        "cpu_s": round(usage.ru_utime + usage.ru_stime, 2),
        "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),
    }


async def poll_worker(db_url: str, when: datetime) -> dict[str, Any]:
    store = await open_store(db_url, migrate=False)
    settings = IngestSettings(
        contact="benchmark",
        allow_private_sources=True,
        politeness_delay_s=0.0,
        per_host_concurrency=8,
        total_concurrency=64,
        timeout_s=60.0,
        poll_interval_s=900,
    )
    clock = ManualClock(when)
    owner = f"bench-poll:{os.getpid()}"
    async with Fetcher(settings, clock, lookup=loopback) as fetcher:
        print("ready", flush=True)
        await asyncio.to_thread(sys.stdin.readline)
        began, cpu = time.perf_counter(), time.process_time()
        polls = new = errors = 0
        while True:
            report = await poll_due(store, fetcher, clock=clock, settings=settings, owner=owner)
            if not report.polls:
                break
            polls, new, errors = polls + len(report.polls), new + report.new, errors + report.errors
        elapsed = time.perf_counter() - began
    await store.close()
    return {
        "polls": polls,
        "new": new,
        "errors": errors,
        "elapsed_s": elapsed,
        "stage_cpu_s": time.process_time() - cpu,
    }


async def engine_worker(db_url: str, when: datetime, model: str, partitions: int) -> dict[str, Any]:
    from bot.store.engine_inbox import pending
    from jobs.engine import EngineJob

    store = await open_store(db_url, migrate=False)
    loaded = time.perf_counter()
    embedder = load_embedder(model)
    load_s = time.perf_counter() - loaded
    owner = f"bench-engine:{os.getpid()}"
    clock = ManualClock(when)
    settings = Settings(
        engine=EngineSettings(model=model, partitions=partitions), workers=WorkerSettings(lease_s=3600)
    )
    await register_worker(store, owner, ["engine"], now=when)
    job = EngineJob(store, clock, settings, owner=owner, embedder=embedder)
    print("ready", flush=True)
    await asyncio.to_thread(sys.stdin.readline)
    began, cpu = time.perf_counter(), time.process_time()
    decided = 0
    while True:
        results = await job.run()
        decided += sum(r.articles for r in results)
        held = list(job.engines.values())
        waiting = [await pending(store, e.mark, limit=1) for e in held]
        if held and not any(waiting):
            break
    elapsed = time.perf_counter() - began
    await store.close()
    return {
        "partitions": sorted(job.engines),
        "decided": decided,
        "elapsed_s": elapsed,
        "stage_cpu_s": time.process_time() - cpu,
        "model_load_s": round(load_s, 2),
    }


async def deliver_worker(db_url: str, platform_url: str) -> dict[str, Any]:
    from bot.messages import Capabilities
    from jobs.delivery import Deliverer, DeliverySettings
    from tests.fakes.platform import FakePlatformAdapter

    store = await open_store(db_url, migrate=False)
    adapter = FakePlatformAdapter(
        platform_url, Capabilities(per_channel_rate=10_000.0, global_rate=100_000.0)
    )
    await adapter.start()
    from bot.clock import SystemClock

    deliverer = Deliverer(
        store,
        {Platform.SLACK: adapter},
        SystemClock(),
        owner=f"bench-deliver:{os.getpid()}",
        settings=DeliverySettings(idle_check_s=0.05, linger_s=0.5),
    )
    print("ready", flush=True)
    await asyncio.to_thread(sys.stdin.readline)
    began, cpu = time.perf_counter(), time.process_time()
    await deliverer.drain()
    elapsed = time.perf_counter() - began
    await deliverer.stop(drain=True)
    await adapter.stop()
    await store.close()
    return {"elapsed_s": elapsed, "stage_cpu_s": time.process_time() - cpu}


def worker_main(argv: Sequence[str]) -> None:
    role, db_url, *rest = argv
    if role == "poll":
        result = asyncio.run(poll_worker(db_url, datetime.fromisoformat(rest[0])))
    elif role == "engine":
        result = asyncio.run(engine_worker(db_url, datetime.fromisoformat(rest[0]), rest[1], int(rest[2])))
    else:
        result = asyncio.run(deliver_worker(db_url, rest[0]))
    print(json.dumps(result | _usage()), flush=True)


async def run_workers(count: int, args: Sequence[str]) -> tuple[float, list[dict[str, Any]]]:
    """Start `count` worker processes, wait until each is ready, say go to all at once; wall time, results."""
    procs = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            __file__,
            "worker",
            *args,
            cwd=ROOT,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        for _ in range(count)
    ]
    for proc in procs:
        assert proc.stdout is not None
        line = (await proc.stdout.readline()).decode().strip()
        if line != "ready":
            raise SystemExit(f"a worker did not start: {line!r}")
    began = time.perf_counter()
    for proc in procs:
        assert proc.stdin is not None
        proc.stdin.write(b"go\n")
        await proc.stdin.drain()
    results = []
    for proc in procs:
        assert proc.stdout is not None
        results.append(json.loads((await proc.stdout.readline()).decode()))
    wall = time.perf_counter() - began
    for proc in procs:
        await proc.wait()
    return wall, results


# --- the orchestrator ----------------------------------------------------------------------------------


async def fresh_database(server_url: str, name: str) -> str:
    import asyncpg

    url = make_url(server_url)
    conn = await asyncpg.connect(
        host=url.host, port=url.port, user=url.username, password=url.password, database=url.database
    )
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return str(url.set(database=name))


async def bench_poll(server_url: str, feeds: int, processes: Sequence[int], port: int) -> dict[str, Any]:
    db_url = await fresh_database(server_url, "bench_poll")
    store = await open_store(db_url)
    rows = [
        {
            "url": f"http://feeds{n % HOSTS}.bench.test:{port}/f/{n}",
            "title": f"Outlet {n}",
            "poll_interval_s": 900,
            "etag": etag(n, 0),
            "primed": True,
            "next_poll_at": T0,
            "created_at": T0,
        }
        for n in range(feeds)
    ]
    async with store.write() as conn:
        for start in range(0, len(rows), 5000):
            await conn.execute(insert(sources), rows[start : start + 5000])
    out: dict[str, Any] = {}
    import aiohttp

    for round_no, count in enumerate(processes):
        when = T0 + timedelta(hours=round_no + 1)
        async with aiohttp.ClientSession() as session:
            await session.post(f"http://127.0.0.1:{port}/bump/{round_no}")
        async with store.write() as conn:
            await conn.execute(update(sources).values(next_poll_at=when, lease_owner=None, lease_until=None))
        wall, results = await run_workers(count, ["poll", db_url, when.isoformat()])
        polls = sum(r["polls"] for r in results)
        errors = sum(r["errors"] for r in results)
        if polls != feeds or errors:
            raise SystemExit(f"poll pass with {count} processes: {polls} of {feeds} polled, {errors} errors")
        new = sum(r["new"] for r in results)
        out[str(count)] = {
            "pass_s": round(wall, 2),
            "feeds_per_s": round(feeds / wall, 1),
            "articles_per_s": round(new / wall, 1),
            "new_articles": new,
            "per_process": [
                {k: round(v, 2) if isinstance(v, float) else v for k, v in r.items()} for r in results
            ],
        }
    await store.close()
    return out


async def bench_engine(
    server_url: str,
    topic_list: list[Topic],
    stream: Any,
    count: int,
    processes: Sequence[int],
    model: str,
    partitions: int,
) -> dict[str, Any]:
    db_url = await fresh_database(server_url, "bench_engine")
    store = await open_store(db_url)
    from bot.store.topics import upsert_topic

    for topic in topic_list:
        await upsert_topic(store, topic, now=T0)
    async with store.write() as conn:
        source = await add_source(conn, "https://bench.invalid/feed", now=T0)
    batch = [next(stream) for _ in range(count)]
    for start in range(0, count, 250):
        part = batch[start : start + 250]
        async with store.write() as conn:
            saved = await save_articles(conn, source.id, part, now=part[-1].published)
            await queue_for_engine(
                conn, [(a.id, True) for a in saved.saved if a.id], batch_at=part[-1].published
            )
    when = batch[-1].published + timedelta(hours=1)
    out: dict[str, Any] = {}
    for processes_now in processes:
        async with store.write() as conn:
            for table in (
                development_articles,
                developments,
                stories,
                engine_journal,
                engine_snapshots,
                engine_partitions,
                outbox,
                workers,
            ):
                await conn.execute(delete(table))
        await ensure_partitions(store, partitions, now=T0)
        wall, results = await run_workers(
            processes_now, ["engine", db_url, when.isoformat(), model, str(partitions)]
        )
        out[str(processes_now)] = {
            "wall_s": round(wall, 2),
            "articles_per_s": round(count / wall, 1),
            "per_process": [
                {k: round(v, 2) if isinstance(v, float) else v for k, v in r.items()} for r in results
            ],
        }
    await store.close()
    return out


async def bench_outbox(
    server_url: str, messages: int, channels: int, processes: Sequence[int]
) -> dict[str, Any]:
    from tests.jobs.helpers import queue_messages

    db_url = await fresh_database(server_url, "bench_outbox")
    store = await open_store(db_url)
    platform = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.fakes.platform",
        "--rate",
        "0",
        "--server",
        "lean",
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
    )
    assert platform.stdout is not None
    url = (await platform.stdout.readline()).decode().strip()
    out: dict[str, Any] = {}
    try:
        for count in processes:
            async with store.write() as conn:
                await conn.execute(delete(outbox))
            await queue_messages(store, channels=channels, per_channel=messages // channels, now=T0)
            wall, results = await run_workers(count, ["deliver", db_url, url])
            async with store.read() as conn:
                left = len((await conn.execute(select(outbox.c.id).where(outbox.c.status != "sent"))).all())
            if left:
                raise SystemExit(f"outbox drain with {count} processes left {left} messages")
            out[str(count)] = {
                "drain_s": round(wall, 2),
                "messages_per_s": round(messages / wall, 1),
                "per_process": [
                    {k: round(v, 2) if isinstance(v, float) else v for k, v in r.items()} for r in results
                ],
            }
    finally:
        platform.terminate()
        await platform.wait()
        await store.close()
    return out


async def bench_state(
    server_url: str, topic_list: list[Topic], stream: Any, history: int, model: str
) -> dict[str, Any]:
    """Whole blob against journal entry, at `history` articles: one partition holding every topic."""
    db_url = await fresh_database(server_url, "bench_state")
    store = await open_store(db_url)
    embedder = load_embedder(model)
    engine, tracker = restore(None, [], topic_list, None, embedder)
    began = time.perf_counter()
    fed = 0
    while fed < history:
        engine.process_batch([next(stream) for _ in range(256)])
        engine.take_dirty()
        fed += 256
    build_s = time.perf_counter() - began
    await ensure_partitions(store, 1, now=T0)
    snapshot_started = time.perf_counter()
    snapshot = tracker.snapshot(engine)
    async with store.write() as conn:
        await write_snapshot(conn, 0, 0, snapshot, now=T0)
    snapshot_s = time.perf_counter() - snapshot_started
    blob_times = []
    for _ in range(2):
        started = time.perf_counter()
        blob = dump_engine(engine)
        await put_engine_state(store, "story_engine", blob, now=T0)
        blob_times.append(time.perf_counter() - started)
    seq = 0

    async def write(entry: bytes) -> None:
        nonlocal seq
        seq += 1
        async with store.write() as conn:
            await append_journal(conn, 0, seq, entry, now=T0)

    def decide(size: int) -> Any:
        decisions = engine.process_batch([next(stream) for _ in range(size)])
        tracker.note(engine)
        engine.take_dirty()
        return decisions

    # What the engine does: a batch entry (article ids, digest) per batch, the state every SAVE_EVERY.
    batch_saves: dict[int, list[float]] = {256: [], 64: []}
    state_saves: dict[int, list[float]] = {256: [], 64: []}
    state_sizes: dict[int, list[int]] = {256: [], 64: []}
    for size, cycles in ((256, 3), (64, 2)):
        for _ in range(cycles):
            for _ in range(SAVE_EVERY - 1):
                decisions = decide(size)
                started = time.perf_counter()
                ids = list(range(fed + seq * size, fed + (seq + 1) * size))
                await write(batch_entry(ids, decision_digest(decisions, engine)))
                batch_saves[size].append(time.perf_counter() - started)
            decide(size)
            started = time.perf_counter()
            delta = tracker.delta(engine)
            await write(delta)
            state_saves[size].append(time.perf_counter() - started)
            state_sizes[size].append(len(delta))
    # The alternative: the state saved after every batch.
    every: list[float] = []
    encodes: list[float] = []
    sizes: list[int] = []
    for _ in range(8):
        decide(256)
        started = time.perf_counter()
        delta = tracker.delta(engine)
        encodes.append(time.perf_counter() - started)
        await write(delta)
        every.append(time.perf_counter() - started)
        sizes.append(len(delta))
    # A later snapshot, as compaction writes them: the first also made every map a tracked one.
    started = time.perf_counter()
    snapshot = tracker.snapshot(engine)
    async with store.write() as conn:
        await write_snapshot(conn, 0, seq, snapshot, now=T0)
    snapshot_again_s = time.perf_counter() - started
    await store.close()
    per_batch = statistics.median(batch_saves[256])
    state_amortised = statistics.median(state_saves[256]) / SAVE_EVERY
    # The journal is folded into a new snapshot once it outweighs the last one: that cost, per batch.
    snapshot_amortised = snapshot_again_s * statistics.mean(state_sizes[256]) / SAVE_EVERY / len(snapshot)
    return {
        "history": fed,
        "build_s": round(build_s, 1),
        "developments": len(engine.developments),
        "stories": len(engine.stories),
        "vocabulary": len(engine.vocab.df),
        "whole_blob_save_s": round(min(blob_times), 3),
        "whole_blob_mb": round(len(blob) / 1e6, 1),
        "save_every": SAVE_EVERY,
        "journal_save_ms_256": round(per_batch * 1000, 2),
        "journal_save_ms_256_p90": round(_p90(batch_saves[256]) * 1000, 2),
        "journal_save_ms_64": round(statistics.median(batch_saves[64]) * 1000, 2),
        "state_save_ms_256": round(statistics.median(state_saves[256]) * 1000, 2),
        "state_entry_kb_256": round(statistics.median(state_sizes[256]) / 1000, 1),
        "state_save_ms_64": round(statistics.median(state_saves[64]) * 1000, 2),
        "state_amortised_ms_256": round(state_amortised * 1000, 2),
        "save_per_batch_ms_256": round(
            (per_batch * (SAVE_EVERY - 1) / SAVE_EVERY + state_amortised) * 1000, 2
        ),
        "state_every_batch_ms_256": round(statistics.median(every) * 1000, 2),
        "state_every_batch_encode_ms_256": round(statistics.median(encodes) * 1000, 2),
        "state_every_batch_kb_256": round(statistics.median(sizes) / 1000, 1),
        "snapshot_s": round(snapshot_s, 2),
        "snapshot_again_s": round(snapshot_again_s, 2),
        "snapshot_mb": round(len(snapshot) / 1e6, 1),
        "snapshot_amortised_ms_256": round(snapshot_amortised * 1000, 2),
        "blob_over_journal_256": round(min(blob_times) / per_batch, 1),
    }


def _p90(values: list[float]) -> float:
    return sorted(values)[int(len(values) * 0.9)]


def _pg_server(given: str | None) -> tuple[str, Any]:
    if given:
        return str(make_url(given).set(drivername="postgresql+asyncpg")), None
    from tests.fixtures_db import _find_pg_bin, _ThrowawayServer

    bin_dir = _find_pg_bin()
    if bin_dir is None:
        raise SystemExit("no PostgreSQL binaries: pass --pg-url")
    server = _ThrowawayServer(bin_dir)
    return server.start(), server


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    import engine as engine_bench

    engine_bench.N_TOPICS = args.topics
    topic_list, stream = engine_bench.synthetic_stream()
    processes = [int(p) for p in args.processes.split(",")]
    server_url, server = _pg_server(args.pg_url)
    ready, port = multiprocessing.Event(), multiprocessing.Value("i", 0)
    feeder = multiprocessing.Process(target=serve_feeds, args=(args.feeds, ready, port), daemon=True)
    feeder.start()
    ready.wait(30)
    try:
        figures: dict[str, Any] = {
            "bench": "scale",
            "feeds": args.feeds,
            "topics": args.topics,
            "processes": processes,
        }
        stages = args.stages.split(",")
        if "poll" in stages:
            figures["poll"] = await bench_poll(server_url, args.feeds, processes, port.value)
            one, two = figures["poll"].get("1"), figures["poll"].get("2")
            if one and two:
                figures["poll_speedup_2"] = round(two["feeds_per_s"] / one["feeds_per_s"], 2)
        if "engine" in stages:
            figures["engine"] = await bench_engine(
                server_url, topic_list, stream, args.engine_articles, processes, args.model, args.partitions
            )
        if "outbox" in stages:
            figures["outbox"] = await bench_outbox(server_url, args.messages, args.channels, processes)
        if "state" in stages:
            figures["state"] = await bench_state(server_url, topic_list, stream, args.history, args.model)
    finally:
        feeder.terminate()
        if server is not None:
            server.stop()
    figures["model"] = args.model
    figures["load_avg_1m"] = round(os.getloadavg()[0], 2)
    return figures


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "worker":
        worker_main(sys.argv[2:])
        return
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--feeds", type=int, default=20_000)
    parser.add_argument("--topics", type=int, default=200)
    parser.add_argument("--processes", default="1,2,4")
    parser.add_argument("--partitions", type=int, default=4)
    parser.add_argument("--engine-articles", type=int, default=6_000)
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--channels", type=int, default=1_000)
    parser.add_argument("--history", type=int, default=200_000)
    parser.add_argument("--model", choices=["auto", "none", "wordllama"], default="auto")
    parser.add_argument(
        "--pg-url", help="a PostgreSQL server whose user may create databases (default: a throwaway one)"
    )
    parser.add_argument(
        "--stages", default="poll,engine,outbox,state", help="which parts to run (default all), e.g. state"
    )
    parser.add_argument("--quick", action="store_true", help="small sizes, to check the benchmark runs")
    args = parser.parse_args()
    if args.quick:
        args.feeds, args.engine_articles, args.messages, args.channels, args.history = (
            1000,
            500,
            1000,
            100,
            3000,
        )
    print(json.dumps(asyncio.run(main_async(args))))


if __name__ == "__main__":
    main()
