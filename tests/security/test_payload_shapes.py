"""Slack payloads of every unexpected shape, signed, through the real bolt app and our listeners.

Slack signs what it sends, but its payloads change and a bug or a replay can bring any shape: missing
fields, wrong types, forged button values. Each must end as a quiet 200 or a clear refusal, never a
crash, a command nobody typed, or a change to another channel; the bot answers normally afterwards.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from bot.models import Destination, Platform
from bot.store import open_store
from bot.store.subscriptions import list_subscriptions, muted_stories
from bot.store.topics import get_topic
from tests.adapters.discord import conftest as discord_fixtures
from tests.adapters.slack import conftest as slack
from tests.adapters.slack.conftest import ADMIN, CHANNEL, MEMBER, TEAM, Bot, StartBot
from tests.bot.services.seed import seed_news
from tests.fakes.discord import FakeDiscord
from tests.fakes.discord_model import COMPONENT

# The adapters' fixtures (the fake servers, the bot started over them), shared with tests/adapters.
fake = slack.fake
start_bot = slack.start_bot


@pytest.fixture
async def fake_discord(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[FakeDiscord]:
    started = await FakeDiscord().start()
    discord_fixtures.point_discord_py_at(started, monkeypatch)
    yield started
    await started.stop()


@pytest.fixture
async def discord_bot(fake_discord: FakeDiscord, tmp_path: Path) -> AsyncIterator[discord_fixtures.Bot]:
    store = await open_store(f"sqlite:///{tmp_path / 'discord.sqlite'}")
    await seed_news(store)
    settings = discord_fixtures.discord_settings(tmp_path)
    started = await discord_fixtures.start_bot(store, settings)
    yield started
    await started.adapter.stop()
    await store.close()


HERE = Destination(Platform.SLACK, TEAM, CHANNEL)
MUTE = "storywatch:mute_story:0"


def weird_commands(bot: Bot) -> list[dict[str, Any]]:
    base = bot.command_fields("topics", user=ADMIN, channel=CHANNEL, name="weird")
    return [
        {k: v for k, v in base.items() if k != "user_id"},
        {k: v for k, v in base.items() if k != "channel_id"},
        {k: v for k, v in base.items() if k not in ("team_id", "text")},
        {**base, "text": "topic remove korea\x00"},
        {**base, "text": "x" * 100_000},
        {**base, "user_id": "", "channel_id": ""},
    ]


def weird_payloads(bot: Bot) -> list[Any]:
    good = bot.click_payload({"action_id": MUTE, "value": "1"})
    action = good["actions"][0]
    return [
        [],
        "payload",
        {**good, "actions": "not a list"},
        {**good, "actions": [None]},
        {**good, "actions": [{**action, "action_id": 12}]},
        {**good, "actions": [{**action, "value": {"story": 1}}]},
        {**good, "actions": [{**action, "value": "1\ntopic remove korea"}]},
        {**good, "actions": [{**action, "value": "1 ; topic remove korea"}]},
        {**good, "actions": [{**action, "action_id": "storywatch:topic_remove:0", "value": "korea"}]},
        {**good, "actions": [{**action, "text": 5}]},
        {**good, "user": "UADMIN"},
        {**good, "user": None},
        {**good, "channel": "C1"},
        {**good, "channel": None},
        {**good, "team": []},
        {k: v for k, v in good.items() if k != "response_url"},
        {**good, "container": "x", "message": 7},
    ]


async def test_odd_slash_commands_and_clicks_change_nothing(start_bot: StartBot) -> None:
    bot = await start_bot(mode="http")
    store = bot.runtime.store
    await bot.command("subscribe korea")
    failed = []
    for fields in weird_commands(bot):
        status, _ = await bot.post(urlencode(fields))
        if status >= 500:
            failed.append(str(fields)[:200])
    for payload in weird_payloads(bot):
        status, _ = await bot.post(urlencode({"payload": json.dumps(payload)}))
        if status >= 500:
            failed.append(str(payload)[:200])
    status, _ = await bot.post("payload=%7Bnot+json")
    if status >= 500:
        failed.append("not json")
    assert failed == []
    assert await get_topic(store, "korea") is not None
    assert [s.topic_id for s in await list_subscriptions(store, HERE)] == ["korea"]
    # Variants whose button is intact ran the admin's own click, `mute 1`, and nothing else.
    assert await muted_stories(store, HERE) <= {1}
    # The bot still answers as usual.
    reply = await bot.command("topics")
    assert "korea" in reply["text"] or "korea" in json.dumps(reply)


@pytest.mark.parametrize("user", [MEMBER])
async def test_a_forged_button_runs_as_the_clicker_with_the_clickers_rights(
    start_bot: StartBot, user: str
) -> None:
    bot = await start_bot(mode="http")
    store = bot.runtime.store
    status, _ = await bot.click({"action_id": MUTE, "value": "1"}, user=user, name="forged")
    assert status == 200
    reply = await bot.reply("forged")
    assert "only channel managers" in json.dumps(reply)
    assert await muted_stories(store, HERE) == set()


async def test_unsigned_junk_is_a_quiet_400_and_signatures_still_hold(start_bot: StartBot) -> None:
    bot = await start_bot(mode="http")
    for body in ("payload=%5B%5D", "payload=%22x%22", "payload=%7Bnot+json"):
        status, _ = await bot.post(body, secret="not-the-secret")
        assert status == 400, body
    status, _ = await bot.post(bot.command_body("topic remove korea"), secret="not-the-secret")
    assert status == 401
    assert await get_topic(bot.runtime.store, "korea") is not None


# --- Discord: interactions through the fake gateway and the real discord.py client ---


async def test_odd_discord_interactions_change_nothing(
    fake_discord: FakeDiscord, discord_bot: discord_fixtures.Bot
) -> None:
    store = discord_bot.store
    here = Destination(Platform.DISCORD, str(fake_discord.guild_id), str(fake_discord.channel_id))
    await discord_fixtures.ask(fake_discord, "subscribe", topic="korea")
    reader = discord_fixtures.reader()
    # Custom ids a click may carry (discord.py itself needs a string; Discord always sends one).
    custom_ids = [
        "",
        "storywatch:mute_story:1 2",
        "storywatch:mute_story:1\n",
        "storywatch:topic_remove:korea",
        "storywatch:mute_story:" + "9" * 64,
        "storywatch:mute_story:<@&1>",
        "storywatch:" + "x" * 5000,
    ]
    for custom_id in custom_ids:
        for person in (discord_fixtures.moderator(), reader):
            data = {"custom_id": custom_id, "component_type": 2}
            await fake_discord._interact(COMPONENT, data, person, None)
    # Option strings as a member types them: one word expected, markup, mentions, bidi, far too long.
    for options in (
        {"topic": "korea fed"},
        {"topic": "<@&1>"},
        {"topic": "korea\u202e"},
        {"topic": "korea", "at": "25:99"},
        {"topic": "korea", "tz": "../../etc/passwd"},
        {"topic": "korea", "at": "08:00 tz Asia/Seoul"},
    ):
        interaction = await fake_discord.slash("subscribe", person=discord_fixtures.moderator(), **options)
        reply = await fake_discord.answer_to(interaction)
        assert "something went wrong" not in str(reply.payload), options
    for words in ("@everyone [x](https://evil.example)", "\u202e" * 50, "a" * 200):
        interaction = await fake_discord.slash("lookup", person=reader, words=words)
        reply = await fake_discord.answer_to(interaction)
        assert "something went wrong" not in str(reply.payload) and "@everyone" not in str(reply.payload)
    reply = await discord_fixtures.ask(fake_discord, "topics")
    assert "korea" in str(reply.payload)
    assert await get_topic(store, "korea") is not None
    assert [s.topic_id for s in await list_subscriptions(store, here)] == ["korea"]
    assert await muted_stories(store, here) == set()
    # Only the clicks that spell one of our commands reached the core, as typed commands.
    texts = [request.text for request in discord_bot.requests]
    assert all(text.split()[0] in ("subscribe", "mute", "topics", "lookup") for text in texts), texts
