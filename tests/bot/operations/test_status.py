"""`storywatch status` data: sources' health, outbox depth and age, next digests in local time, last poll."""

from __future__ import annotations

import io
from datetime import UTC, datetime, time, timedelta

from rich.console import Console

from bot.clock import ManualClock
from bot.models import AlertMode, Destination, Platform, Subscription, Topic
from bot.operations.status import collect_status, next_digest_at, render_status
from bot.store import Store
from bot.store.outbox import enqueue_message, mark_failed, mark_sent
from bot.store.schema import digest_runs
from bot.store.sources import add_source, disable_source, record_poll_failure, record_poll_success
from bot.store.subscriptions import upsert_subscription
from bot.store.topics import add_topic

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
CHANNEL = Destination(Platform.SLACK, "T1", "C1")


def subscription(**changes: object) -> Subscription:
    fields: dict[str, object] = {"destination": CHANNEL, "topic_id": "korea", "mode": AlertMode.DIGEST}
    fields.update(changes)
    return Subscription(**fields)  # type: ignore[arg-type]


def test_next_digest_is_local_wall_time_across_daylight_saving() -> None:
    paris = subscription(digest_at=time(8, 0), timezone="Europe/Paris")
    # 28 March 2026, 12:00 UTC: the next 08:00 in Paris is on the 29th, the first day of summer time.
    assert next_digest_at(paris, datetime(2026, 3, 28, 12, 0, tzinfo=UTC)) == datetime(
        2026, 3, 29, 6, 0, tzinfo=UTC
    )
    seoul = subscription(digest_at=time(21, 0), timezone="Asia/Seoul")
    assert next_digest_at(seoul, NOW) == datetime(2026, 3, 11, 12, 0, tzinfo=UTC)
    # Today's run already happened: the next one is tomorrow.
    early = subscription(digest_at=time(23, 0), timezone="UTC")
    assert next_digest_at(early, NOW, frozenset({"2026-03-10"})) == datetime(2026, 3, 11, 23, 0, tzinfo=UTC)


async def test_status_report(store: Store) -> None:
    clock = ManualClock(NOW)
    ok = await add_source(store, "https://ok.example/feed", now=NOW - timedelta(days=1), title="Fine")
    failing = await add_source(store, "https://failing.example/feed", now=NOW, title="Flaky")
    gone = await add_source(store, "https://gone.example/feed", now=NOW, title="Gone")
    await add_source(store, "https://new.example/feed", now=NOW, title="Fresh")
    await record_poll_success(store, ok.id, now=NOW - timedelta(minutes=5))
    await record_poll_failure(store, failing.id, now=NOW - timedelta(minutes=9), error="HTTP 503")
    await disable_source(store, gone.id, now=NOW, reason="feed gone (HTTP 410)")
    for n, minutes in enumerate((90, 30, 10)):
        await enqueue_message(
            store,
            idempotency_key=f"k{n}",
            destination=CHANNEL,
            kind="alert",
            payload="{}",
            now=NOW - timedelta(minutes=minutes),
        )
    await mark_sent(store, 1, now=NOW)
    await add_topic(store, Topic("korea", "Korea diplomacy", "korea"), now=NOW)
    await add_topic(store, Topic("fed", "Fed", "fed"), now=NOW)
    seoul = await upsert_subscription(
        store, subscription(digest_at=time(21, 30), timezone="Asia/Seoul"), now=NOW
    )
    await upsert_subscription(store, subscription(topic_id="fed", mode=AlertMode.INSTANT), now=NOW)
    await upsert_subscription(
        store,
        subscription(destination=Destination(Platform.DISCORD, "G", "D"), digest_at=time(7, 0)),
        now=NOW,
    )
    async with store.write() as conn:
        # The Seoul channel had today's digest already (21:30 KST on the 10th is 12:30 UTC, still ahead).
        await conn.execute(
            digest_runs.insert().values(
                subscription_id=seoul.id, period="2026-03-10", due_at=NOW, status="sent", created_at=NOW
            )
        )

    report = await collect_status(store, clock)

    health = {s.title: (s.health, s.reason) for s in report.sources}
    assert health == {
        "Fine": ("ok", None),
        "Flaky": ("failing", "1 failures in a row: HTTP 503"),
        "Gone": ("disabled", "feed gone (HTTP 410)"),
        "Fresh": ("new", None),
    }
    assert report.outbox == {"pending": 2, "sent": 1, "dead": 0}
    assert report.oldest_pending_age == timedelta(minutes=30)
    assert report.last_poll == NOW - timedelta(minutes=5)
    assert [(d.subscription.destination.key, d.topic_name, d.local) for d in report.digests] == [
        ("discord:G:D", "Korea diplomacy", "11 Mar 2026 07:00 UTC (UTC)"),
        ("slack:T1:C1", "Korea diplomacy", "11 Mar 2026 21:30 KST (Asia/Seoul)"),
    ]

    out = io.StringIO()
    Console(file=out, width=160).print(*render_status(report))
    text = out.getvalue()
    assert "4 sources (2 with problems), last poll 10 Mar 2026 11:55 UTC, 2 messages pending" in text
    assert "feed gone (HTTP 410)" in text and "oldest pending" in text and "30m 00s" in text
    assert "11 Mar 2026 21:30 KST (Asia/Seoul)" in text


async def test_status_shows_messages_retrying_after_a_refusal(store: Store) -> None:
    for n in range(3):
        await enqueue_message(
            store, idempotency_key=f"r{n}", destination=CHANNEL, kind="alert", payload="{}", now=NOW
        )
    await mark_failed(store, 1, now=NOW, error="rate limited", retry_at=NOW + timedelta(minutes=1))
    await mark_failed(store, 2, now=NOW, error="invalid_blocks", retry_at=None)
    report = await collect_status(store, ManualClock(NOW + timedelta(minutes=5)))
    assert (report.figures.outbox_pending, report.figures.outbox_retrying, report.figures.outbox_dead) == (
        2,
        1,
        1,
    )
    out = io.StringIO()
    Console(file=out, width=160).print(*render_status(report))
    [row] = [line for line in out.getvalue().splitlines() if "retrying after a refusal" in line]
    assert row.split("│")[2].strip() == "1"
