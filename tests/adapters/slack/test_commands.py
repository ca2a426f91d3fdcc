"""Acceptance 1: every core command through Slack, as a signed HTTP slash command and over Socket Mode.

The real bolt app serves the command (HTTP on loopback, or the fake's Socket Mode WebSocket), acks it,
runs it through the Runtime against a real SQLite store holding the seed news, and answers through
the payload's response_url on the fake; the store is checked for what each command changed.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from sqlalchemy import select

from bot.commands import SPECS
from bot.models import Destination, Platform
from bot.store.schema import stories
from bot.store.subscriptions import list_subscriptions, muted_stories
from bot.store.topics import get_topic
from tests.adapters.slack.conftest import CHANNEL, TEAM, Bot, StartBot
from tests.fakes.slack_blocks import plain_texts

HERE = Destination(Platform.SLACK, TEAM, CHANNEL)


def shown(reply: dict[str, Any]) -> str:
    """Everything a reader sees in a reply: its text and its blocks' texts."""
    return "\n".join([reply["text"], *plain_texts(reply.get("blocks"))])


async def _first_story(bot: Bot) -> int:
    async with bot.runtime.store.read() as conn:
        return int((await conn.execute(select(stories.c.id).order_by(stories.c.id))).scalars().first() or 0)


@pytest.mark.parametrize("mode", ["http", "socket"])
async def test_every_command(start_bot: StartBot, mode: str) -> None:
    bot = await start_bot(mode=mode)
    store = bot.runtime.store
    story = await _first_story(bot)

    reply = await bot.command("help")
    assert reply["response_type"] == "ephemeral"
    assert all(spec.name in reply["text"] for spec in SPECS)
    assert "subscribe &lt;topic&gt;" in shown(reply), "usage text is escaped mrkdwn"

    reply = await bot.command("topics")
    assert reply["response_type"] == "ephemeral" and "korea (Korea diplomacy)" in shown(reply)

    reply = await bot.command('topic add chips "TSMC" OR semiconductor')
    assert reply["response_type"] == "in_channel" and reply["text"].startswith("Added topic chips")
    assert await get_topic(store, "chips") is not None

    reply = await bot.command("subscribe korea threaded broadcast")
    assert reply["response_type"] == "in_channel"
    assert reply["text"].startswith("This channel now follows Korea diplomacy (korea)")
    [subscription] = await list_subscriptions(store, HERE)
    assert (subscription.topic_id, subscription.threaded, subscription.broadcast) == ("korea", True, True)

    reply = await bot.command("list")
    assert reply["response_type"] == "ephemeral" and "korea (Korea diplomacy)" in shown(reply)

    reply = await bot.command("lookup summit Hanoi")
    assert reply["text"] == "2 developments matching 'summit Hanoi'."
    assert "Hanoi" in shown(reply)

    reply = await bot.command("timeline korea")
    assert reply["text"].startswith("Timeline: Korea diplomacy")

    reply = await bot.command(f"story {story}")
    assert reply["text"].startswith(f"Story {story}: ")
    buttons = [e for b in reply["blocks"] if b["type"] == "actions" for e in b["elements"] if "value" in e]
    assert [(b["text"]["text"], b["value"]) for b in buttons] == [
        ("Mute this story", str(story)),
        ("Open timeline", str(story)),
    ]

    reply = await bot.command(f"timeline {story}")
    assert reply["text"].startswith("Timeline: ") and "1 development" in reply["text"]

    reply = await bot.command(f"mute {story}")
    assert reply["response_type"] == "in_channel" and reply["text"].startswith(f"Muted story {story}")
    assert await muted_stories(store, HERE) == {story}

    reply = await bot.command(f"unmute {story}")
    assert reply["text"].startswith(f"Story {story}") and "unmuted" in reply["text"]
    assert await muted_stories(store, HERE) == set()

    reply = await bot.command("digest now")
    assert reply["text"] == "Digest on its way (1 topic)."
    await bot.fake.wait_for(lambda: bot.fake.channel_posts(CHANNEL))
    [digest] = bot.fake.channel_posts(CHANNEL)
    assert digest.blocks is not None and digest.blocks[0]["text"]["text"].startswith(
        "Korea diplomacy: digest"
    )

    reply = await bot.command("sources")
    assert reply["text"] == "3 sources, 0 with problems." and "reuters.example" in shown(reply)

    reply = await bot.command("topic remove chips")
    assert reply["text"].startswith("Removed topic chips")
    assert await get_topic(store, "chips") is None

    reply = await bot.command("unsubscribe korea")
    assert reply["text"] == "This channel no longer follows korea."
    assert await list_subscriptions(store, HERE) == []

    reply = await bot.command("frobnicate")
    assert reply["response_type"] == "ephemeral" and reply["text"].startswith("unknown command 'frobnicate'")


async def test_a_wrong_signature_or_an_old_timestamp_gets_401_and_changes_nothing(
    start_bot: StartBot,
) -> None:
    bot = await start_bot()
    body = bot.command_body("subscribe korea", name="forged")
    assert (await bot.post(body, secret="not-the-secret"))[0] == 401
    stale = str(int(time.time()) - 6 * 60)
    assert (await bot.post(body, timestamp=stale))[0] == 401
    tampered = body.replace("korea", "fed")
    assert (await bot.post(tampered, signed=body))[0] == 401
    assert await list_subscriptions(bot.runtime.store, HERE) == []
    assert bot.fake.responses == []
    # The same request, signed now, does go through: the refusals were about the signature.
    assert (await bot.post(body))[0] == 200
    await bot.reply("forged")
    assert [s.topic_id for s in await list_subscriptions(bot.runtime.store, HERE)] == ["korea"]
