"""Who may do what on Discord, through the real discord.py bot and the fake Discord's members and roles.

The platform's signal is the member's Manage Channels permission in the channel (as the interaction
carries it); bot admins are the `admins` user ids and the members of the `admin_role` given by id.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.config import settings_from_mapping
from bot.models import Destination, Platform
from bot.store import Store
from bot.store.subscriptions import list_subscriptions, muted_stories
from bot.store.topics import get_topic, list_topics
from tests.adapters.discord.conftest import (
    Bot,
    ask,
    bot_admin,
    discord_settings,
    korea_story,
    point_discord_py_at,
    reader,
    start_bot,
)
from tests.fakes.discord import FakeDiscord, Person

TOPICS_REFUSED = "only bot admins can change topics (ask an admin: #news-desk)"


def channel_of(fake: FakeDiscord, channel_id: int | None = None) -> Destination:
    channel = channel_id or fake.channel_id
    return Destination(Platform.DISCORD, str(fake.channels[channel].guild_id), str(channel))


@pytest.fixture
async def bot(fake: FakeDiscord, store: Store, tmp_path: Path) -> AsyncIterator[Bot]:
    settings = settings_from_mapping(
        {
            "data_dir": str(tmp_path),
            "admins": [f"discord:{bot_admin().id}"],
            "access": {"admin_contact": "#news-desk"},
            "discord": {"enabled": True},
        }
    )
    started = await start_bot(store, settings)
    yield started
    await started.adapter.stop()


async def test_a_moderator_manages_the_channel_but_not_the_topics(fake: FakeDiscord, bot: Bot) -> None:
    story_id = await korea_story(bot.store)
    assert not (await ask(fake, "subscribe", topic="korea")).ephemeral
    assert not (await ask(fake, "mute", story=story_id)).ephemeral
    assert (await ask(fake, "digest")).text == "Digest on its way (1 topic)."
    for path, options in (
        (("topic", "add"), {"id": "chips", "query": "chips"}),
        (("topic", "remove"), {"topic": "korea"}),
    ):
        refused = await ask(fake, *path, **options)
        assert refused.ephemeral and refused.text == TOPICS_REFUSED
    assert {t.id for t in await list_topics(bot.store)} == {"korea", "fed"}
    assert await muted_stories(bot.store, channel_of(fake)) == {story_id}


async def test_a_bot_admin_changes_topics_and_channels(fake: FakeDiscord, bot: Bot) -> None:
    added = await ask(fake, "topic", "add", id="chips", query="chips", person=bot_admin())
    assert added.text.startswith("Added topic chips") and not added.ephemeral
    assert not (await ask(fake, "subscribe", topic="chips", person=bot_admin())).ephemeral
    removed = await ask(fake, "topic", "remove", topic="chips", person=bot_admin())
    assert removed.text == "Removed topic chips (1 subscription ended with it)."
    assert await get_topic(bot.store, "chips") is None


async def test_a_member_is_refused_digest_now_and_mutes(fake: FakeDiscord, bot: Bot) -> None:
    story_id = await korea_story(bot.store)
    await ask(fake, "subscribe", topic="korea")
    for path, options in (
        (("mute",), {"story": story_id}),
        (("unmute",), {"story": story_id}),
        (("digest",), {}),
    ):
        refused = await ask(fake, *path, person=reader(), **options)
        assert refused.ephemeral and refused.text.startswith("only channel managers or bot admins"), path
    assert await muted_stories(bot.store, channel_of(fake)) == set()
    assert fake.in_channel(fake.channel_id) == [], "no digest went out"


async def test_digest_now_is_once_a_while_per_member(fake: FakeDiscord, bot: Bot) -> None:
    await ask(fake, "subscribe", topic="korea")
    assert (await ask(fake, "digest")).text == "Digest on its way (1 topic)."
    again = await ask(fake, "digest")
    assert again.ephemeral
    assert again.text.startswith("you asked for this channel's digest a short while ago; ask again after ")
    assert (await ask(fake, "digest", person=bot_admin())).text == "Digest on its way (1 topic)."


@pytest.fixture
async def two_servers(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[FakeDiscord]:
    started = await FakeDiscord(guilds=2).start()
    point_discord_py_at(started, monkeypatch)
    yield started
    await started.stop()


async def test_the_admin_role_counts_by_id_and_a_lookalike_name_elsewhere_does_not(
    two_servers: FakeDiscord, store: Store, tmp_path: Path
) -> None:
    fake = two_servers
    editors = fake.add_role("news-editors")
    # In the other server, someone names a role after the admin role's id, and another after its name.
    elsewhere = fake.guild_ids[1]
    far = fake.add_channel("far", guild_id=elsewhere)
    by_id = fake.add_role(str(editors), guild_id=elsewhere)
    bot = await start_bot(store, discord_settings(tmp_path, admin_role=str(editors)))
    try:
        impostor = Person(2_000_001, "impostor", roles=(by_id,))
        refused = await fake.answer_to(
            await fake.slash("topic", "remove", topic="korea", person=impostor, channel_id=far)
        )
        assert refused.ephemeral and refused.text.startswith("only bot admins can change topics")
        assert (
            await fake.answer_to(
                await fake.slash("subscribe", topic="korea", person=impostor, channel_id=far)
            )
        ).ephemeral
        assert await get_topic(store, "korea") is not None
        assert await list_subscriptions(store, channel_of(fake, far)) == []
        editor = Person(2_000_002, "editor", roles=(editors,))
        removed = await ask(fake, "topic", "remove", topic="fed", person=editor)
        assert removed.text.startswith("Removed topic fed")
    finally:
        await bot.adapter.stop()


async def test_an_admin_role_by_name_stands_in_for_manage_channels_only(
    fake: FakeDiscord, store: Store, tmp_path: Path
) -> None:
    editors = fake.add_role("News-Editors")
    bot = await start_bot(store, discord_settings(tmp_path, admin_role="news-editors"))
    try:
        editor = reader(editors)
        assert not (await ask(fake, "subscribe", topic="korea", person=editor)).ephemeral
        refused = await ask(fake, "topic", "remove", topic="korea", person=editor)
        assert refused.ephemeral and refused.text.startswith("only bot admins can change topics")
        assert await get_topic(store, "korea") is not None
        assert [s.topic_id for s in await list_subscriptions(store, channel_of(fake))] == ["korea"]
    finally:
        await bot.adapter.stop()
