"""Delivery benchmark: one poll's 50 new developments fanned out to 1,000 subscribed channels.

The fake platform runs in its own process on 127.0.0.1 (real HTTP over loopback, keep-alive) and
enforces a per-channel rate (Slack's 1 message/s by default). Each channel subscribes to one of
`--topics` topics, so each gets developments/topics alerts and the rate sets a floor of
(alerts per channel - 1) / rate seconds. One more channel, on a second platform whose channels take
any rate (the fake platform does not throttle it), subscribes to every topic: its alerts give the
alert latency no rate limit holds back.

The clock starts when the poll ends, i.e. when its transaction (developments and their outbox rows,
written by the fan-out) commits; `drain_incl_fanout_s` starts before the fan-out instead. The deliver
job runs with its default settings. Figures are medians over `--runs` runs; `cpu_*_s` are the CPU
seconds the bot process and the platform process spent from the fan-out to the end of the drain.

HTTP on both sides is tests/fakes/http.py, a minimal keep-alive HTTP/1.1 client and server: aiohttp
spends ~0.3 ms of CPU a request on each side, more than the deliverer itself, on a machine this run
shares. The same scenario with aiohttp on both sides is reported under `aiohttp_*` keys, and with the
fake platform in this process (InProcessAdapter: same rate, nonces and accept times, no HTTP) under
`inprocess_*` keys.

    python benchmarks/delivery.py [--destinations 1000] [--developments 50] [--topics 5] [--rate 1]
                                  [--runs 3] [--aiohttp-runs 1] [--in-process-runs 1]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import aiohttp
from sqlalchemy import insert

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.clock import SystemClock  # noqa: E402
from bot.messages import Capabilities  # noqa: E402
from bot.models import Platform, Topic  # noqa: E402
from bot.pipeline.fanout import enqueue_alerts  # noqa: E402
from bot.store import Store, open_store  # noqa: E402
from bot.store.outbox import count_messages  # noqa: E402
from bot.store.schema import developments, stories, subscriptions  # noqa: E402
from bot.store.topics import upsert_topic  # noqa: E402
from bot.stories.events import DevelopmentEvent  # noqa: E402
from jobs.delivery import Deliverer  # noqa: E402
from tests.fakes.platform import FakePlatform, FakePlatformAdapter, InProcessAdapter  # noqa: E402

FAST_CHANNEL = "FAST"


def _subscription(platform: str, channel: str, topic: str, now: datetime) -> dict[str, Any]:
    return {
        "platform": platform,
        "workspace": "T1",
        "channel": channel,
        "topic_id": topic,
        "mode": "instant",
        "digest_at": "08:00",
        "timezone": "UTC",
        "min_sources": 1,
        "threaded": False,
        "created_at": now,
    }


async def _seed(store: Store, args: argparse.Namespace, now: datetime) -> list[DevelopmentEvent]:
    for t in range(args.topics):
        await upsert_topic(store, Topic(f"t{t}", f"Topic {t}", f"word{t}"), now=now)
    rows = [_subscription("slack", f"C{d:04d}", f"t{d % args.topics}", now) for d in range(args.destinations)]
    rows += [_subscription("discord", FAST_CHANNEL, f"t{t}", now) for t in range(args.topics)]
    events = []
    async with store.write() as conn:
        await conn.execute(insert(subscriptions), rows)
        for n in range(1, args.developments + 1):
            topic = f"t{n % args.topics}"
            values = {"id": n, "topic_id": topic, "first_seen": now, "last_seen": now}
            await conn.execute(insert(stories).values(title=f"Story {n}", key_terms=[], **values))
            await conn.execute(
                insert(developments).values(story_id=n, headline=f"Development {n}", source_count=3, **values)
            )
            events.append(
                DevelopmentEvent(topic, n, n, True, f"Development {n}", "what is new", 3, None, first=True)
            )
    return events


async def _platform(rate: float, server: str) -> tuple[asyncio.subprocess.Process, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.fakes.platform",
        "--rate",
        str(rate),
        "--unthrottled",
        FAST_CHANNEL,
        "--server",
        server,
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
    )
    assert proc.stdout is not None
    return proc, (await proc.stdout.readline()).decode().strip()


def _cpu_of(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def run_once(args: argparse.Namespace, http: str = "lean") -> dict[str, Any]:
    """One run; `http` "lean" (tests/fakes/http.py client and server) or "aiohttp" (both sides)."""
    clock = SystemClock()
    if http == "in-process":
        return await _run_in_process(args)
    proc, url = await _platform(args.rate, http)
    with tempfile.TemporaryDirectory(prefix="storywatch-bench-") as tmp:
        store = await open_store(f"sqlite:///{Path(tmp) / 'bench.sqlite'}")
        try:
            events = await _seed(store, args, clock.now())
            slack = FakePlatformAdapter(
                url, Capabilities(per_channel_rate=args.rate, global_rate=100_000.0), transport=http
            )
            fast = FakePlatformAdapter(
                url,
                Capabilities(per_channel_rate=10_000.0, global_rate=100_000.0),
                platform=Platform.DISCORD,
                transport=http,
            )
            for adapter in (slack, fast):
                await adapter.start()
            deliverer = Deliverer(
                store, {Platform.SLACK: slack, Platform.DISCORD: fast}, clock, owner="bench:1"
            )
            cpu_bot, cpu_platform = time.process_time(), _cpu_of(proc.pid)
            fanout_start = time.monotonic()
            async with store.write() as conn:
                report = await enqueue_alerts(conn, events, now=clock.now())
            poll_end = time.monotonic()
            await deliverer.drain()
            cpu_bot, cpu_platform = time.process_time() - cpu_bot, _cpu_of(proc.pid) - cpu_platform
            for adapter in (slack, fast):
                await adapter.stop()
            counts = await count_messages(store)
        finally:
            await store.close()
    async with aiohttp.ClientSession() as session, session.get(f"{url}/accepted?messages=0") as response:
        data = await response.json()
    proc.terminate()
    await proc.wait()
    return _figures(args, data, report.alerts, counts, fanout_start, poll_end, cpu_bot, cpu_platform)


async def _run_in_process(args: argparse.Namespace) -> dict[str, Any]:
    """The same run with the fake platform in this process (InProcessAdapter): delivery without HTTP."""
    clock = SystemClock()
    fake = FakePlatform(per_channel_rate=args.rate, unthrottled=frozenset({FAST_CHANNEL}))
    with tempfile.TemporaryDirectory(prefix="storywatch-bench-") as tmp:
        store = await open_store(f"sqlite:///{Path(tmp) / 'bench.sqlite'}")
        try:
            events = await _seed(store, args, clock.now())
            slack = InProcessAdapter(fake, Capabilities(per_channel_rate=args.rate, global_rate=100_000.0))
            fast = InProcessAdapter(
                fake,
                Capabilities(per_channel_rate=10_000.0, global_rate=100_000.0),
                platform=Platform.DISCORD,
            )
            deliverer = Deliverer(
                store, {Platform.SLACK: slack, Platform.DISCORD: fast}, clock, owner="bench:1"
            )
            cpu_bot = time.process_time()
            fanout_start = time.monotonic()
            async with store.write() as conn:
                report = await enqueue_alerts(conn, events, now=clock.now())
            poll_end = time.monotonic()
            await deliverer.drain()
            cpu_bot = time.process_time() - cpu_bot
            counts = await count_messages(store)
        finally:
            await store.close()
    data = fake.listing(messages=False)
    return _figures(args, data, report.alerts, counts, fanout_start, poll_end, cpu_bot, 0.0)


def _figures(
    args: argparse.Namespace,
    data: dict[str, Any],
    alerts: int,
    counts: dict[str, int],
    fanout_start: float,
    poll_end: float,
    cpu_bot: float,
    cpu_platform: float,
) -> dict[str, Any]:
    accepted = [a for a in data["accepted"] if a["channel"] != FAST_CHANNEL]
    first: dict[str, float] = {}
    for item in accepted:
        first.setdefault(item["channel"], item["at"])
    fast_latencies = [a["at"] - poll_end for a in data["accepted"] if a["channel"] == FAST_CHANNEL]
    per_channel = args.developments // args.topics
    floor = (per_channel - 1) / args.rate
    last = max(item["at"] for item in accepted)
    drain = last - poll_end
    return {
        "alerts": alerts,
        "accepted": len(data["accepted"]),
        "sent": counts.get("sent", 0),
        "floor_s": floor,
        "drain_s": drain,
        "overhead_pct": (drain - floor) / floor * 100 if floor else 0.0,
        "drain_incl_fanout_s": last - fanout_start,
        "fanout_s": poll_end - fanout_start,
        "p95_alert_latency_s": _p95(fast_latencies),
        "unthrottled_alerts": len(fast_latencies),
        "p95_first_alert_latency_s": _p95([at - poll_end for at in first.values()]),
        "cpu_bot_s": cpu_bot,
        "cpu_platform_s": cpu_platform,
        "rate_limited": data["rate_limited"],
        "nonce_replays": data["nonce_replays"],
    }


def _p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[18] if len(values) > 1 else (values[0] if values else 0.0)


async def run(args: argparse.Namespace) -> dict[str, Any]:
    runs = [await run_once(args) for _ in range(args.runs)]
    out: dict[str, Any] = {
        "bench": "delivery",
        "platform": "loopback-http",
        "http": "lean keep-alive client and server (tests/fakes/http.py), platform in its own process",
        "destinations": args.destinations,
        "developments": args.developments,
        "per_channel_rate": args.rate,
        "runs": args.runs,
    }
    for key in runs[0]:
        values = [r[key] for r in runs]
        median = statistics.median(values)
        out[key] = round(median, 3) if isinstance(median, float) else median
    out["overhead_pct"] = round(out["overhead_pct"], 1)
    out["drain_s_all"] = [round(r["drain_s"], 3) for r in runs]
    # The same scenario with aiohttp on both sides (what the Slack and Discord clients are built on),
    # and with the platform in this process (what delivery itself takes, without any HTTP stack).
    extra = [("aiohttp", args.aiohttp_runs), ("in-process", args.in_process_runs)]
    for http, count in extra:
        if count <= 0:
            continue
        others = [await run_once(args, http) for _ in range(count)]
        prefix = http.replace("-", "") + "_"
        for key in ("drain_s", "overhead_pct", "p95_alert_latency_s", "cpu_bot_s", "cpu_platform_s"):
            median = statistics.median(o[key] for o in others)
            out[prefix + key] = round(median, 1 if key == "overhead_pct" else 3)
    out["load_avg_1m"] = round(os.getloadavg()[0], 2)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--destinations", type=int, default=1000)
    parser.add_argument("--developments", type=int, default=50)
    parser.add_argument("--topics", type=int, default=5)
    parser.add_argument("--rate", type=float, default=1.0, help="messages per second per channel")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--aiohttp-runs", type=int, default=1, help="runs with aiohttp on both sides")
    parser.add_argument("--in-process-runs", type=int, default=1, help="runs with the platform in-process")
    print(json.dumps(asyncio.run(run(parser.parse_args()))))


if __name__ == "__main__":
    main()
