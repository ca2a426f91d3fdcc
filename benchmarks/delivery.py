"""Delivery benchmark: one poll's 50 new developments fanned out to 1,000 subscribed channels.

The fake platform runs in its own process on 127.0.0.1 and enforces a per-channel rate (Slack's
1 message/s by default). Each channel subscribes to one of `--topics` topics, so each gets
50/topics alerts and the rate sets a floor of (alerts per channel - 1) / rate seconds. Measured from
the end of the poll (the fan-out transaction starts) to the last alert the platform accepted; p95
alert latency is over each channel's first alert, which no rate limit holds back.

    python benchmarks/delivery.py [--destinations 1000] [--developments 50] [--topics 5] [--rate 1]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import aiohttp
from sqlalchemy import insert

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.clock import SystemClock  # noqa: E402
from bot.fanout import enqueue_alerts  # noqa: E402
from bot.messages import Capabilities  # noqa: E402
from bot.models import Destination, Platform, Subscription, Topic  # noqa: E402
from bot.store import Store, open_store  # noqa: E402
from bot.store.outbox import count_messages  # noqa: E402
from bot.store.schema import developments, stories, subscriptions  # noqa: E402
from bot.store.topics import upsert_topic  # noqa: E402
from bot.stories.events import NewDevelopment  # noqa: E402
from jobs.delivery import Deliverer, DeliverySettings  # noqa: E402
from tests.fakes.platform import FakePlatformAdapter  # noqa: E402


async def _seed(store: Store, args: argparse.Namespace, now: datetime) -> list[NewDevelopment]:
    for t in range(args.topics):
        await upsert_topic(store, Topic(f"t{t}", f"Topic {t}", f"word{t}"), now=now)
    rows = []
    for d in range(args.destinations):
        sub = Subscription(Destination(Platform.SLACK, "T1", f"C{d:04d}"), f"t{d % args.topics}")
        rows.append(
            {
                "platform": "slack",
                "workspace": "T1",
                "channel": sub.destination.channel,
                "topic_id": sub.topic_id,
                "mode": "instant",
                "digest_at": "08:00",
                "timezone": "UTC",
                "min_sources": 1,
                "threaded": False,
                "created_at": now,
            }
        )
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
            events.append(NewDevelopment(topic, n, n, True, f"Development {n}", "what is new", 3, None))
    return events


async def _platform(rate: float) -> tuple[asyncio.subprocess.Process, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.fakes.platform",
        "--rate",
        str(rate),
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
    )
    assert proc.stdout is not None
    return proc, (await proc.stdout.readline()).decode().strip()


async def run(args: argparse.Namespace) -> dict[str, object]:
    clock = SystemClock()
    proc, url = await _platform(args.rate)
    with tempfile.TemporaryDirectory(prefix="storywatch-bench-") as tmp:
        store = await open_store(f"sqlite:///{Path(tmp) / 'bench.sqlite'}")
        try:
            events = await _seed(store, args, clock.now())
            caps = Capabilities(per_channel_rate=args.rate, global_rate=100_000.0)
            adapter = FakePlatformAdapter(url, caps)
            await adapter.start()
            settings = DeliverySettings(max_channels=args.destinations + 100, idle_check_s=0.05)
            deliverer = Deliverer(store, {Platform.SLACK: adapter}, clock, owner="bench:1", settings=settings)
            poll_end = time.monotonic()
            async with store.write() as conn:
                report = await enqueue_alerts(conn, events, now=clock.now())
            enqueued = time.monotonic()
            await deliverer.drain()
            await adapter.stop()
            counts = await count_messages(store)
        finally:
            await store.close()
    async with aiohttp.ClientSession() as session, session.get(f"{url}/accepted") as response:
        data = await response.json()
    proc.terminate()
    await proc.wait()
    accepted = data["accepted"]
    first: dict[str, float] = {}
    for item in accepted:
        first.setdefault(item["channel"], item["at"])
    per_channel = args.developments // args.topics
    floor = (per_channel - 1) / args.rate
    drain = max(item["at"] for item in accepted) - poll_end
    latencies = sorted(at - poll_end for at in first.values())
    return {
        "bench": "delivery",
        "destinations": args.destinations,
        "developments": args.developments,
        "alerts": report.alerts,
        "accepted": len(accepted),
        "sent": counts.get("sent", 0),
        "per_channel_rate": args.rate,
        "floor_s": round(floor, 3),
        "drain_s": round(drain, 3),
        "overhead_pct": round((drain - floor) / floor * 100, 1) if floor else None,
        "fanout_s": round(enqueued - poll_end, 3),
        "p95_alert_latency_s": round(statistics.quantiles(latencies, n=20)[18], 3),
        "rate_limited": data["rate_limited"],
        "nonce_replays": data["nonce_replays"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--destinations", type=int, default=1000)
    parser.add_argument("--developments", type=int, default=50)
    parser.add_argument("--topics", type=int, default=5)
    parser.add_argument("--rate", type=float, default=1.0, help="messages per second per channel")
    print(json.dumps(asyncio.run(run(parser.parse_args()))))


if __name__ == "__main__":
    main()
