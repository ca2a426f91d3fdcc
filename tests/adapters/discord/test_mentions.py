"""Acceptance 3: feed text with mentions and masked links never pings anyone, on any path the bot posts by."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from bot.messages import build_alert
from bot.models import Destination, Link, Message, Platform
from bot.views import DevelopmentView
from tests.adapters.discord.conftest import Bot, ask
from tests.fakes.discord import FakeDiscord

INJECTION = "@everyone @here <@123> <@&456> [bank.com](https://evil.example/login) **now**"
# Mention syntax Discord acts on: `<` not escaped by a backslash, @everyone without a zero-width space.
_LIVE = re.compile(r"(?<!\\)<(@[!&]?\d+|#\d+)>|@(everyone|here)\b")


def injected_alert(metadata: dict[str, str]) -> Message:
    view = DevelopmentView(
        development_id=1,
        story_id=7,
        story_title=INJECTION,
        story_is_new=True,
        headline=INJECTION,
        what_is_new=INJECTION,
        first_seen=datetime(2026, 5, 1, tzinfo=UTC),
        sources=(Link(INJECTION, "https://evil.example/1"),),
        source_count=1,
    )
    alert = build_alert(view, topic_name=INJECTION)
    alert.metadata.update(metadata)
    return alert


def texts(payload: dict[str, object]) -> list[str]:
    found = [str(payload.get("content") or "")]
    for embed in payload.get("embeds") or []:  # type: ignore[attr-defined]
        found += [str(embed.get("title") or ""), str(embed.get("description") or "")]
        found += [str(field["name"]) for field in embed.get("fields") or []]
    return found


async def test_no_payload_can_ping_and_injections_are_inert(fake: FakeDiscord, bot: Bot) -> None:
    channel = Destination(Platform.DISCORD, str(fake.guild_id), str(fake.channel_id))
    forum = Destination(Platform.DISCORD, str(fake.guild_id), str(fake.forum_id))
    story = {"thread": "story", "thread_name": INJECTION}
    started = await bot.adapter.send(channel, injected_alert({"idempotency_key": "a#0", **story}))
    await bot.adapter.send(channel, injected_alert({"idempotency_key": "b#0"}))
    in_thread = Destination(channel.platform, channel.workspace, channel.channel, started.thread_id)
    await bot.adapter.send(in_thread, injected_alert({"idempotency_key": "c#0", **story}))
    await bot.adapter.send(forum, injected_alert(story))
    await bot.adapter.send(channel, injected_alert({"via": "webhook"}))
    # Replies echo what people typed: the same rules.
    await ask(fake, "lookup", words=INJECTION)
    await ask(fake, "subscribe", topic="@everyone")
    await ask(fake, "topic", "add", id="pings", query=INJECTION)

    routes = {route for route, _ in fake.payloads}
    assert routes == {"message", "forum", "webhook", "callback"}
    assert len(fake.payloads) == 8
    for route, payload in fake.payloads:
        assert payload.get("allowed_mentions") == {"parse": []}, route
        for text in texts(payload):
            assert not _LIVE.search(text), (route, text)
            assert "[bank.com](" not in text.replace("\\[bank.com\\](", ""), (route, text)
