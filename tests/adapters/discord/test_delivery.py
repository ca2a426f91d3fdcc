"""Delivery to the fake Discord through the real Deliverer and outbox: digests within limits, in order;
429 and 5xx storms without a lost or doubled alert; refusals pausing the subscription, shown in `list`."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from adapters.discord.markup import DISCORD_CAPABILITIES
from adapters.discord.render import nonce_for
from bot.clock import SystemClock
from bot.messages import build_alert, build_digest
from bot.messages.serial import message_to_json
from bot.models import Destination, Link, Message, Platform, Subscription
from bot.store import Store
from bot.store.outbox import NewMessage, count_messages, enqueue_messages
from bot.store.subscriptions import list_subscriptions, upsert_subscription
from bot.views import DevelopmentView
from jobs.delivery import Deliverer, DeliverySettings
from tests.adapters.discord.conftest import Bot, ask, discord_settings, start_bot
from tests.fakes.discord import Answer, FakeDiscord
from tests.fakes.discord_limits import EMBEDS, EMBEDS_TOTAL, message_problems

T0 = datetime(2026, 5, 1, 6, 0, tzinfo=UTC)
FAST = DeliverySettings(backoff_base_s=0.05, backoff_max_s=0.5, idle_check_s=0.05, linger_s=3.0)
# Pacing kept (one message after another per channel) but fast, so storms take seconds, not minutes.
QUICK_CAPS = dataclasses.replace(DISCORD_CAPABILITIES, per_channel_rate=50.0, global_rate=500.0)


@pytest.fixture
async def quick_bot(fake: FakeDiscord, store: Store, tmp_path: Path) -> AsyncIterator[Bot]:
    started = await start_bot(store, discord_settings(tmp_path), capabilities=QUICK_CAPS)
    yield started
    await started.adapter.stop()


def destination(fake: FakeDiscord, channel_id: int) -> Destination:
    return Destination(Platform.DISCORD, str(fake.guild_id), str(channel_id))


def view(n: int, *, headline: str | None = None) -> DevelopmentView:
    return DevelopmentView(
        development_id=n,
        story_id=n % 7 + 1,
        story_title=f"Story {n % 7 + 1}",
        story_is_new=False,
        headline=headline or f"Development {n:03d}",
        what_is_new=f"What changed in development {n:03d}: " + "details *and* <@1> " * 12,
        first_seen=T0 + timedelta(minutes=n),
        sources=(Link("Reuters", f"https://reuters.example/{n}"), Link("AP", f"https://ap.example/{n}")),
        source_count=1 + n % 3,
    )


async def queue(store: Store, rows: list[tuple[str, Destination, Message]]) -> None:
    await enqueue_messages(
        store,
        [NewMessage(key, where, "alert", message_to_json(message)) for key, where, message in rows],
        now=SystemClock().now(),
    )


async def drain(bot: Bot) -> Deliverer:
    deliverer = Deliverer(
        bot.store, {Platform.DISCORD: bot.adapter}, SystemClock(), owner="test:1", settings=FAST
    )
    await deliverer.drain()
    return deliverer


async def test_a_digest_of_120_developments_arrives_as_valid_embeds_in_order(
    fake: FakeDiscord, quick_bot: Bot
) -> None:
    views = [view(n) for n in range(120)]
    digest = build_digest(
        views,
        topic_id="korea",
        topic_name="Korea diplomacy",
        timezone="UTC",
        until=T0 + timedelta(days=1),
        max_developments=120,
    )
    await queue(quick_bot.store, [("digest:korea:1", destination(fake, fake.channel_id), digest)])
    await drain(quick_bot)

    posted = fake.in_channel(fake.channel_id)
    assert len(posted) > 2 and not [r for r in fake.refused if r[2] == 400]
    for message in posted:
        assert message_problems(message.payload) == []
        assert len(message.embeds) <= EMBEDS and _embed_chars(message.payload) <= EMBEDS_TOTAL
    delivered = [line for message in posted for line in _lines(message.payload)]
    expected = [line for section in digest.sections for line in section.text.splitlines()]
    assert [_development(line) for line in delivered] == [_development(line) for line in expected]
    assert sorted(_development(line) for line in delivered) == [f"Development {n:03d}" for n in range(120)]
    assert posted[0].embeds[0]["author"]["name"].startswith("Korea diplomacy: digest for")
    assert await count_messages(quick_bot.store) == {"sent": 1}


def _embed_chars(payload: dict[str, object]) -> int:
    total = 0
    for embed in payload.get("embeds") or []:  # type: ignore[attr-defined]
        total += len(embed.get("title") or "") + len(embed.get("description") or "")
        total += sum(len(f["name"]) + len(f["value"]) for f in embed.get("fields") or [])
        total += len((embed.get("footer") or {}).get("text") or "")
        total += len((embed.get("author") or {}).get("name") or "")
    return total


def _lines(payload: dict[str, object]) -> list[str]:
    return [
        line
        for embed in payload.get("embeds") or []  # type: ignore[attr-defined]
        for line in (embed.get("description") or "").splitlines()
        if line.startswith("• ")
    ]


def _development(line: str) -> str:
    return line.removeprefix("• ")[: len("Development 000")]


async def test_429_and_5xx_storms_deliver_every_alert_once_in_order(
    fake: FakeDiscord, quick_bot: Bot
) -> None:
    channels = [fake.channel_id, fake.add_channel("markets"), fake.add_channel("world")]
    rows = []
    for n in range(10):
        for channel_id in channels:
            key = f"alert:{channel_id}:{n}"
            rows.append((key, destination(fake, channel_id), build_alert(view(n), topic_name="Korea")))
    await queue(quick_bot.store, rows)
    first, second, _ = channels
    # discord.py sleeps out short 429s itself; five in a row exhaust its tries and come back as a retry.
    fake.fail_next("message", *[Answer(429, retry_after=0.05)] * 7, channel=first)
    # A 503 is handed to the deliver job; a 500 after Discord took the message is retried by discord.py
    # with the same nonce, which Discord answers with the message it has.
    fake.fail_next("message", Answer(503), Answer(503), Answer(500, accept=True), Answer(503), channel=second)
    fake.fail_next("message", Answer(429, retry_after=0.02), Answer(503), Answer(429, retry_after=0.02))
    await drain(quick_bot)

    assert fake.rate_limited >= 9 and fake.nonce_replays >= 1
    nonces = [message.nonce for message in fake.posted]
    assert len(nonces) == len(rows) == len(set(nonces)), "every alert exactly once"
    for channel_id in channels:
        expected = [nonce_for(f"{key}#0") for key, where, _ in rows if where.channel == str(channel_id)]
        assert [message.nonce for message in fake.in_channel(channel_id)] == expected
    assert await count_messages(quick_bot.store) == {"sent": len(rows)}


async def test_refusals_pause_the_subscription_with_the_reason_in_list(
    fake: FakeDiscord, quick_bot: Bot
) -> None:
    hidden, deleted, fine = fake.channel_id, fake.add_channel("deleted"), fake.add_channel("fine")
    for channel_id in (hidden, deleted, fine):
        await upsert_subscription(
            quick_bot.store, Subscription(destination(fake, channel_id), "korea"), now=T0
        )
    fake.delete_channel(deleted)
    fake.fail_next("message", Answer(403, code=50001, message="Missing Access"), channel=hidden)
    fake.fail_next("message", Answer(400, code=50035, message="Invalid Form Body"), channel=fine)
    await queue(
        quick_bot.store,
        [
            (
                f"alert:{channel_id}:{n}",
                destination(fake, channel_id),
                build_alert(view(n), topic_name="Korea"),
            )
            for n in range(2)
            for channel_id in (hidden, deleted, fine)
        ],
    )
    deliverer = await drain(quick_bot)
    del deliverer
    [paused] = await list_subscriptions(quick_bot.store, destination(fake, hidden))
    assert paused.paused_reason is not None and paused.paused_reason.startswith(
        "forbidden: the bot cannot see this channel (Missing Access)"
    )
    [gone] = await list_subscriptions(quick_bot.store, destination(fake, deleted))
    assert gone.paused_reason is not None and gone.paused_reason.startswith(
        "gone: the channel no longer exists"
    )
    [working] = await list_subscriptions(quick_bot.store, destination(fake, fine))
    assert working.paused_reason is None, "a rejected message is dropped; the channel goes on"
    assert [m.nonce for m in fake.in_channel(fine)] == [nonce_for(f"alert:{fine}:1#0")]
    # What people see: the reason in /story list, run in the paused channel.
    listed = await ask(fake, "list")
    assert (
        "(paused: forbidden: the bot cannot see this channel (Missing Access): give it View Channel"
        in listed.text
    )
