"""Delivery to Slack: what send() does with each answer of chat.postMessage, threads, and the acceptance
cases through the real Deliverer (jobs/delivery.py) against the fake Slack: a 120-development digest,
mention injection and a 5,000-character title, 429 and 5xx storms."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import insert

from adapters.slack import SlackAdapter
from bot.clock import SystemClock
from bot.messages import DeliveryError, Receipt, build_alert, build_digest
from bot.messages.routing import routed
from bot.messages.serial import message_to_json
from bot.models import Destination, Link, Message, Platform, Section, Subscription, Topic
from bot.store import Store
from bot.store.outbox import NewMessage, count_messages, enqueue_messages
from bot.store.schema import stories
from bot.store.slack_installations import SlackInstallationRows
from bot.store.topics import upsert_topic
from bot.views import DevelopmentView
from jobs.delivery import Deliverer
from tests.adapters.slack.conftest import (
    CHANNEL,
    FAST_CAPS,
    FAST_DELIVERY,
    NOW,
    TEAM,
    secrets,
    slack_settings,
)
from tests.fakes.slack import FakeSlack, Post, Scripted
from tests.fakes.slack_blocks import plain_texts

HERE = Destination(Platform.SLACK, TEAM, CHANNEL)
HERE_KEY = f"alert:{HERE.key}"


async def _no_commands(request: object) -> Message:
    raise AssertionError("no command expected")


@pytest.fixture
async def adapter(tmp_path: Path, fake: FakeSlack, store: Store) -> AsyncIterator[SlackAdapter]:
    settings = slack_settings(tmp_path, fake)
    rows = SlackInstallationRows(store)
    slack = SlackAdapter(settings.slack, secrets(), rows, SystemClock(), capabilities=FAST_CAPS, http_port=0)
    await slack.start(_no_commands)
    yield slack
    await slack.stop()


def part(text: str, key: str, **metadata: str) -> Message:
    return Message(
        text=text, title=text, sections=(Section(text="body"),), metadata={"idempotency_key": key, **metadata}
    )


@pytest.mark.parametrize(
    ("answer", "kind", "reason"),
    [
        (Scripted(429, retry_after=30), "retry", "ratelimited"),
        (Scripted(500), "retry", "internal_error (HTTP 500)"),
        (Scripted(503), "retry", "internal_error (HTTP 503)"),
        (Scripted(error="channel_not_found"), "gone", "channel_not_found: the channel is gone"),
        (Scripted(error="is_archived"), "gone", "is_archived: the channel is archived"),
        (Scripted(error="not_in_channel"), "forbidden", "not_in_channel: add the app to the channel"),
        (Scripted(error="account_inactive"), "forbidden", "account_inactive: the app's token no longer"),
        (Scripted(error="invalid_auth"), "forbidden", "invalid_auth: the app's token no longer works"),
        (Scripted(error="token_revoked"), "forbidden", "token_revoked: the app's token no longer works"),
        (Scripted(error="missing_scope"), "forbidden", "missing_scope: the app needs the scope"),
        (Scripted(error="invalid_blocks"), "invalid", "invalid_blocks"),
        (Scripted(error="msg_too_long"), "invalid", "msg_too_long"),
        (Scripted(error="something_new"), "retry", "unexpected Slack error: something_new"),
    ],
)
async def test_slack_errors_become_delivery_errors(
    fake: FakeSlack, adapter: SlackAdapter, answer: Scripted, kind: str, reason: str
) -> None:
    fake.fail_next("chat.postMessage", answer)
    with pytest.raises(DeliveryError) as raised:
        await adapter.send(HERE, part("hello", "k#0"))
    assert raised.value.kind == kind
    assert raised.value.reason.startswith(reason)
    if answer.status == 429:
        # Longer than the in-call limit: no sleeping inside the call, the deliver job holds the channel.
        assert raised.value.retry_after == 30
    assert len(fake.calls_of("chat.postMessage")) == 1 and fake.posts == []


async def test_a_short_rate_limit_is_waited_out_inside_the_call(
    fake: FakeSlack, adapter: SlackAdapter
) -> None:
    fake.fail_next("chat.postMessage", Scripted(429, retry_after=0))
    receipt = await adapter.send(HERE, part("hello", "k#0"))
    assert [c.status for c in fake.calls_of("chat.postMessage")] == [429, 200]
    assert receipt == Receipt(fake.posts[0].ts, fake.posts[0].ts)


async def test_a_network_failure_is_retried_later(fake: FakeSlack, adapter: SlackAdapter) -> None:
    await fake.stop()
    with pytest.raises(DeliveryError) as raised:
        await adapter.send(HERE, part("hello", "k#0"))
    assert raised.value.kind == "retry" and raised.value.reason.startswith("network: ")


async def test_post_shape_unfurls_off_metadata_key_and_blocks(fake: FakeSlack, adapter: SlackAdapter) -> None:
    await adapter.send(HERE, part("hello", "alert:x#0"))
    [post] = fake.posts
    assert post.params["unfurl_links"] is False and post.params["unfurl_media"] is False
    assert post.key == "alert:x#0" and post.text == "hello" and post.token == "xoxb-test"
    assert post.blocks is not None and post.blocks[0] == {
        "type": "header",
        "text": {"type": "plain_text", "text": "hello", "emoji": True},
    }


async def test_story_threads(fake: FakeSlack, adapter: SlackAdapter) -> None:
    story = {"thread": "story", "story_id": "7", "thread_name": "Talks", "broadcast": "1"}
    first = await adapter.send(HERE, part("first", "a1#0", **story))
    [top] = fake.posts
    assert first == Receipt(top.ts, top.ts) and top.thread_ts is None
    # A later development of the story: a reply in its thread, also shown in the channel.
    later = await adapter.send(
        Destination(Platform.SLACK, TEAM, CHANNEL, top.ts), part("later", "a2#0", **story)
    )
    reply = fake.posts[-1]
    assert (reply.thread_ts, reply.reply_broadcast) == (top.ts, True)
    assert later == Receipt(reply.ts, top.ts)
    # Its continuation goes to the thread only.
    await adapter.send(Destination(Platform.SLACK, TEAM, CHANNEL, top.ts), part("later 2/2", "a2#1", **story))
    assert (fake.posts[-1].thread_ts, fake.posts[-1].reply_broadcast) == (top.ts, False)
    # Without broadcast, replies stay in the thread.
    quiet = {key: value for key, value in story.items() if key != "broadcast"}
    await adapter.send(Destination(Platform.SLACK, TEAM, CHANNEL, top.ts), part("quiet", "a3#0", **quiet))
    assert fake.posts[-1].reply_broadcast is False


async def test_a_deleted_thread(fake: FakeSlack, adapter: SlackAdapter) -> None:
    gone = Destination(Platform.SLACK, TEAM, CHANNEL, "1000.000001")
    story = {"thread": "story", "story_id": "7", "broadcast": "1"}
    # A story alert: refused as gone, so that delivery forgets the thread and starts a new one.
    with pytest.raises(DeliveryError) as refused:
        await adapter.send(gone, part("later", "a2#0", **story))
    assert refused.value.kind == "gone" and refused.value.reason.startswith("thread_not_found")
    assert fake.posts == []
    # The continuation of a message whose parent was deleted: posted in the channel, nothing lost.
    receipt = await adapter.send(gone, part("later 2/2", "a2#1", **story))
    [post] = fake.posts
    assert post.thread_ts is None and not post.reply_broadcast
    assert receipt == Receipt(post.ts, post.ts)


async def test_a_part_slack_took_is_not_posted_again(fake: FakeSlack, adapter: SlackAdapter) -> None:
    first = await adapter.send(HERE, part("hello", "k#0"))
    again = await adapter.send(HERE, part("hello", "k#0"))
    assert first == again and len(fake.posts) == 1


async def test_after_a_doubtful_5xx_the_channel_is_checked_before_posting_again(
    fake: FakeSlack, adapter: SlackAdapter
) -> None:
    # Slack posted, then failed: the retry finds the part by its metadata key instead of posting it twice.
    fake.fail_next("chat.postMessage", Scripted(500, posted=True))
    with pytest.raises(DeliveryError):
        await adapter.send(HERE, part("hello", "k#0"))
    receipt = await adapter.send(HERE, part("hello", "k#0"))
    [post] = fake.posts
    assert receipt == Receipt(post.ts, post.ts)
    assert len(fake.calls_of("conversations.history")) == 1
    # Slack failed without posting: the look-up finds nothing and the part is posted.
    fake.fail_next("chat.postMessage", Scripted(500))
    with pytest.raises(DeliveryError):
        await adapter.send(HERE, part("bye", "k2#0"))
    await adapter.send(HERE, part("bye", "k2#0"))
    assert [p.key for p in fake.posts] == ["k#0", "k2#0"]


async def test_a_part_left_unsettled_by_a_dead_worker_is_looked_for_before_posting(
    tmp_path: Path, fake: FakeSlack, adapter: SlackAdapter, store: Store
) -> None:
    # The first process posted k#0 and died before recording it; this one knows nothing of it.
    first = await adapter.send(HERE, part("hello", "k#0"))
    settings = slack_settings(tmp_path, fake)
    rows = SlackInstallationRows(store)
    fresh = SlackAdapter(settings.slack, secrets(), rows, SystemClock(), capabilities=FAST_CAPS, http_port=0)
    await fresh.start(_no_commands)
    try:
        again = await fresh.send(HERE, part("hello", "k#0", unsettled="1"))
        assert again == first and len(fake.posts) == 1
        # Without the hint (a first attempt), no look-up is spent and the part is posted.
        lookups = len(fake.calls_of("conversations.history"))
        await fresh.send(HERE, part("next", "k2#0"))
        assert len(fake.calls_of("conversations.history")) == lookups == 1
        assert [p.key for p in fake.posts] == ["k#0", "k2#0"]
    finally:
        await fresh.stop()


async def test_without_history_scope_a_doubtful_part_is_posted_again(
    fake: FakeSlack, adapter: SlackAdapter
) -> None:
    fake.fail_next("chat.postMessage", Scripted(500, posted=True))
    fake.fail_next("conversations.history", Scripted(error="missing_scope"))
    with pytest.raises(DeliveryError):
        await adapter.send(HERE, part("hello", "k#0"))
    await adapter.send(HERE, part("hello", "k#0"))
    # The documented limit (docs/slack.md): grant channels:history for exactly once across doubtful failures.
    assert [p.key for p in fake.posts] == ["k#0", "k#0"]


def _view(n: int, *, headline: str | None = None, story_title: str | None = None) -> DevelopmentView:
    return DevelopmentView(
        development_id=n,
        story_id=1000 + n // 4,
        story_title=story_title or f"Story {n // 4}",
        story_is_new=n % 4 == 0,
        headline=headline or f"Development number {n} of the talks",
        what_is_new=f"What is new in development {n}: " + "details " * 20,
        first_seen=NOW - timedelta(minutes=n),
        sources=(Link(f"Outlet {n} & Co", f"https://outlet{n}.example/a?x=1&y={n}"),),
        source_count=1 + n % 3,
        topic_id="korea",
    )


async def _deliver(store: Store, adapter: SlackAdapter, rows: list[NewMessage]) -> None:
    clock = SystemClock()
    target = (await count_messages(store)).get("sent", 0) + len(rows)
    await enqueue_messages(store, rows, now=clock.now())
    deliverer = Deliverer(store, {Platform.SLACK: adapter}, clock, owner="test:1", settings=FAST_DELIVERY)
    async with asyncio.timeout(60):
        while (await count_messages(store)).get("sent", 0) < target:
            report = await deliverer.drain()
            assert report.dead == 0 and not report.paused


def _row(n: int, message: Message, destination: Destination = HERE) -> NewMessage:
    return NewMessage(f"alert:{destination.key}:{n}", destination, "alert", message_to_json(message))


async def test_a_digest_of_120_developments_arrives_valid_and_in_order(
    fake: FakeSlack, adapter: SlackAdapter, store: Store
) -> None:
    views = [_view(n) for n in range(120)]
    digest = build_digest(
        views, topic_id="korea", topic_name="Korea diplomacy", timezone="UTC", until=NOW, max_developments=120
    )
    await _deliver(store, adapter, [NewMessage("digest:1", HERE, "digest", message_to_json(digest))])
    assert fake.rejected == []
    parent, *replies = fake.posts
    assert len(replies) >= 2, "a digest this long is a message plus thread replies"
    assert parent.thread_ts is None and all(r.thread_ts == parent.ts for r in replies)
    assert [p.key for p in fake.posts] == [f"digest:1#{n}" for n in range(len(fake.posts))]
    for post in fake.posts:
        assert post.blocks is not None and len(post.blocks) <= 50
        assert sum(len(text) for text in plain_texts(post.blocks)) <= 13_000
    # Every development is there once, in the digest's order (grouped by story, best first).
    text = "\n".join(t for post in fake.posts for t in plain_texts(post.blocks))
    order = [int(m) for m in re.findall(r"Development number (\d+) of the talks —", text)]
    assert sorted(order) == list(range(120))
    expected = [
        int(m)
        for s in digest.sections
        for m in re.findall(r"Development number (\d+) of the talks —", s.text)
    ]
    assert order == expected
    # Links are buttons to our URLs, labels and URLs intact (& and all).
    urls = [
        e["url"]
        for post in fake.posts
        for b in post.blocks or []
        if b["type"] == "actions"
        for e in b["elements"]
        if "url" in e
    ]
    assert sorted(urls) == sorted(v.sources[0].url for v in views)


INJECTIONS = ("<!channel>", "<!here>", "<@U123>", "<https://evil.example|bank.com>", "<#C999>", "@here &amp;")


async def test_mentions_in_feed_text_arrive_as_harmless_text_and_long_titles_trimmed(
    fake: FakeSlack, adapter: SlackAdapter, store: Store
) -> None:
    hostile = " ".join(INJECTIONS)
    views = [
        _view(1, headline=f"Breaking {hostile}", story_title=f"Story {hostile}"),
        _view(2, headline="x" * 5_000, story_title="T" * 5_000),
    ]
    alerts = [build_alert(view, topic_name=f"Topic {hostile}") for view in views]
    # Straight from a builder that does not cap (a reply, a future message kind): the adapter must still cope.
    raw = Message(
        text="y" * 50_000, title="Z" * 5_000, sections=(Section(text="w" * 5_000, heading="H" * 5_000),)
    )
    await _deliver(store, adapter, [_row(n, m) for n, m in enumerate([*alerts, raw])])
    assert fake.rejected == [] and len(fake.posts) >= 3
    for post in fake.posts:
        # Slack would make no mention and no link of any of it.
        assert post.specials == [], post.specials
        header = post.blocks[0]["text"]["text"] if post.blocks and post.blocks[0]["type"] == "header" else ""
        assert len(header) <= 150 and len(post.text) <= 3_000
    first = _visible(fake.posts[0])
    for injection in INJECTIONS:
        escaped = injection.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        assert escaped in first, injection
    long_title = fake.posts[1].blocks[0]["text"]["text"]
    assert long_title.startswith("Story: TTT") and long_title.endswith("…") and len(long_title) <= 150


def _visible(post: Post) -> str:
    return "\n".join([post.text, *plain_texts(post.blocks)])


async def test_429_and_5xx_storms_every_alert_once_in_order(
    fake: FakeSlack, adapter: SlackAdapter, store: Store
) -> None:
    channels = ("C1", "C2", "C3")
    for channel in channels:
        fake.channels.setdefault(channel, {})
    storm = [
        Scripted(429, retry_after=0),
        Scripted(500),
        Scripted(503, posted=True),
        Scripted(429, retry_after=0),
    ]
    fake.fail_next("chat.postMessage", *storm * 3)
    fake.fail_next("chat.postMessage", Scripted(500, posted=True), Scripted(502), channel="C2")
    rows = []
    for n in range(30):
        destination = Destination(Platform.SLACK, TEAM, channels[n % 3])
        message = Message(text=f"alert {n}", title=f"Alert {n}", sections=(Section(text=f"body {n}"),))
        rows.append(_row(n, message, destination))
    await _deliver(store, adapter, rows)
    statuses = [c.status for c in fake.calls_of("chat.postMessage")]
    assert statuses.count(429) >= 6 and sum(s >= 500 for s in statuses) >= 8, "the storm happened"
    assert len(fake.posts) == 30, "every alert exactly once"
    for channel in channels:
        keys = [p.key for p in fake.channel_posts(channel)]
        assert keys == [f"{row.idempotency_key}#0" for row in rows if row.destination.channel == channel]


async def test_story_threads_through_the_deliverer(
    fake: FakeSlack, adapter: SlackAdapter, store: Store
) -> None:
    """A threaded, broadcast subscription: the story's first alert starts its thread, later ones reply
    there (also in the channel), and when the thread's parent is deleted the next alert starts anew."""
    await upsert_topic(store, Topic("korea", "Korea", "korea"), now=NOW)
    async with store.write() as conn:
        await conn.execute(
            insert(stories).values(
                id=7, topic_id="korea", title="Talks", first_seen=NOW, last_seen=NOW, key_terms=[]
            )
        )
    subscription = Subscription(HERE, "korea", threaded=True, broadcast=True)

    def alert(n: int) -> NewMessage:
        message = Message(text=f"alert {n}", title=f"Alert {n}", sections=(Section(text=f"body {n}"),))
        return _row(n, routed(message, subscription, story_id=7, story_title="Talks"))

    for n in (1, 2):
        await _deliver(store, adapter, [alert(n)])
    first, second = fake.posts
    assert first.thread_ts is None and (second.thread_ts, second.reply_broadcast) == (first.ts, True)
    # Someone deletes the story's first message, and with it the thread.
    fake.posts.remove(first)
    for n in (3, 4):
        await _deliver(store, adapter, [alert(n)])
    third, fourth = fake.posts[-2:]
    assert (third.key, third.thread_ts) == (f"{HERE_KEY}:3#0", None)
    assert (fourth.thread_ts, fourth.reply_broadcast) == (third.ts, True)
