"""Acceptance 1: every core command as a `/story` slash command against the fake Discord, autocomplete
included, and a member without Manage Channels refused with a private explanation."""

from __future__ import annotations

import asyncio
from pathlib import Path

from bot.commands import CommandRequest
from bot.messages import MUTE_STORY, OPEN_TIMELINE
from bot.models import AlertMode, Button, Destination, Message, Platform, Section
from bot.store import Store
from bot.store.subscriptions import list_subscriptions, muted_stories
from bot.store.topics import get_topic
from tests.adapters.discord.conftest import (
    Bot,
    ask,
    bot_admin,
    discord_settings,
    korea_story,
    moderator,
    reader,
    start_bot,
)
from tests.fakes.discord import PUBLIC_THREAD, Channel, FakeDiscord


def channel_of(fake: FakeDiscord) -> Destination:
    return Destination(Platform.DISCORD, str(fake.guild_id), str(fake.channel_id))


async def test_commands_are_synced_as_one_story_group(fake: FakeDiscord, bot: Bot) -> None:
    [story] = fake.commands[None]
    assert story["name"] == "story" and story["contexts"] == [0]
    names = {option["name"] for option in story["options"]}
    assert names == {
        "subscribe", "unsubscribe", "list", "topics", "topic", "lookup", "timeline", "story",
        "mute", "unmute", "digest", "sources", "help",
    }  # fmt: skip
    subscribe = next(option for option in story["options"] if option["name"] == "subscribe")
    options = {option["name"]: option for option in subscribe["options"]}
    assert [choice["value"] for choice in options["mode"]["choices"]] == ["instant", "digest", "both"]
    assert options["topic"]["autocomplete"] and options["tz"]["autocomplete"]
    assert (options["min-sources"]["min_value"], options["min-sources"]["max_value"]) == (1, 50)


async def test_subscribe_with_every_option_then_list_and_unsubscribe(fake: FakeDiscord, bot: Bot) -> None:
    reply = await ask(
        fake,
        "subscribe",
        topic="korea",
        mode="digest",
        at="07:30",
        tz="asia/seoul",
        min_sources=2,
        threaded=True,
        webhook=True,
    )
    assert (
        bot.requests[-1].text
        == "subscribe korea digest at 07:30 tz asia/seoul min-sources 2 threaded webhook"
    )
    assert not reply.ephemeral, "a change to the channel is announced to it"
    assert reply.text == (
        "This channel now follows Korea diplomacy (korea): a digest at 07:30 Asia/Seoul, "
        "once 2 sources report, threaded by story, through a webhook."
    )
    [saved] = await list_subscriptions(bot.store, channel_of(fake))
    assert (saved.mode, saved.timezone, saved.min_sources, saved.threaded, saved.webhook) == (
        AlertMode.DIGEST,
        "Asia/Seoul",
        2,
        True,
        True,
    )
    listed = await ask(fake, "list")
    assert listed.ephemeral and "korea (Korea diplomacy): a digest at 07:30 Asia/Seoul" in listed.text
    gone = await ask(fake, "unsubscribe", topic="korea")
    assert gone.text == "This channel no longer follows korea." and not gone.ephemeral
    again = await ask(fake, "unsubscribe", topic="korea")
    assert again.ephemeral and again.text == "this channel does not follow 'korea' (see 'list')"
    assert await list_subscriptions(bot.store, channel_of(fake)) == []


async def test_subscribe_with_new_story_sources(fake: FakeDiscord, bot: Bot) -> None:
    [story] = fake.commands[None]
    subscribe = next(option for option in story["options"] if option["name"] == "subscribe")
    option = next(option for option in subscribe["options"] if option["name"] == "new-story-sources")
    assert (option["min_value"], option["max_value"]) == (1, 50)
    reply = await ask(fake, "subscribe", topic="korea", min_sources=2, new_story_sources=3)
    assert bot.requests[-1].text == "subscribe korea min-sources 2 new-story-sources 3"
    assert reply.text.endswith("once 2 sources report, new stories once 3 sources report.")
    [saved] = await list_subscriptions(bot.store, channel_of(fake))
    assert (saved.min_sources, saved.new_story_sources) == (2, 3)


async def test_topics_and_topic_add_remove(fake: FakeDiscord, bot: Bot) -> None:
    topics = await ask(fake, "topics")
    assert (
        topics.ephemeral and "korea (Korea diplomacy)" in topics.text and "fed (Central banks)" in topics.text
    )
    added = await ask(
        fake, "topic", "add", id="chips", query='"TSMC" OR semiconductor NOT stocks', person=bot_admin()
    )
    assert bot.requests[-1].text == 'topic add chips "TSMC" OR semiconductor NOT stocks'
    assert added.text.startswith("Added topic chips") and not added.ephemeral
    assert await get_topic(bot.store, "chips") is not None
    removed = await ask(fake, "topic", "remove", topic="chips", person=bot_admin())
    assert removed.text == "Removed topic chips (0 subscriptions ended with it)."
    bad = await ask(fake, "topic", "add", id="bad", query='"unbalanced', person=bot_admin())
    assert bad.ephemeral and bad.text.startswith("bad query:")


async def test_reading_commands(fake: FakeDiscord, bot: Bot) -> None:
    story_id = await korea_story(bot.store)
    found = await ask(fake, "lookup", words="Hanoi summit")
    assert found.ephemeral and "Trump and Kim will meet in Hanoi for second summit" in found.text
    [embed, *_] = found.payload["embeds"]
    assert {field["name"] for field in embed["fields"]} >= {"Reuters", "AP", "BBC"}
    by_topic = await ask(fake, "timeline", topic="korea")
    assert bot.requests[-1].text == "timeline topic korea" and "Timeline: Korea diplomacy" in by_topic.text
    by_story = await ask(fake, "timeline", story=story_id)
    assert bot.requests[-1].text == f"timeline story {story_id}" and "Timeline: " in by_story.text
    details = await ask(fake, "story", story=story_id)
    assert f"Story {story_id}: " in details.text
    buttons = details.payload["components"][0]["components"]
    assert [button["custom_id"] for button in buttons] == [
        f"storywatch:mute_story:{story_id}",
        f"storywatch:open_timeline:{story_id}",
    ]
    sources = await ask(fake, "sources")
    assert sources.ephemeral and sources.text.startswith("3 sources, 0 with problems.")
    helped = await ask(fake, "help", command="subscribe")
    assert helped.text.startswith("subscribe <topic> [instant|digest|both]")
    everything = await ask(fake, "help")
    assert "storywatch commands" in everything.text


async def test_mute_unmute_and_digest_now(fake: FakeDiscord, bot: Bot) -> None:
    story_id = await korea_story(bot.store)
    muted = await ask(fake, "mute", story=story_id)
    assert muted.text.startswith(f"Muted story {story_id}") and not muted.ephemeral
    assert await muted_stories(bot.store, channel_of(fake)) == {story_id}
    unmuted = await ask(fake, "unmute", story=story_id)
    assert unmuted.text.endswith("its alerts come here again.")
    nothing = await ask(fake, "digest")
    assert bot.requests[-1].text == "digest now" and nothing.text.startswith("This channel follows no topics")
    await ask(fake, "subscribe", topic="fed", mode="digest")
    queued = await ask(fake, "digest")
    assert queued.ephemeral and queued.text == "Digest on its way (1 topic)."


async def test_a_member_without_manage_channels_is_refused_privately(fake: FakeDiscord, bot: Bot) -> None:
    story_id = await korea_story(bot.store)
    channel_changes = (
        (("subscribe",), {"topic": "korea"}, "subscribe"),
        (("unsubscribe",), {"topic": "korea"}, "unsubscribe"),
        (("mute",), {"story": story_id}, "mute"),
        (("unmute",), {"story": story_id}, "unmute"),
        (("digest",), {}, "digest now"),
    )
    for path, options, name in channel_changes:
        refused = await ask(fake, *path, person=reader(), **options)
        assert refused.ephemeral, path
        assert refused.text == (
            f"only channel managers or bot admins can use '{name}' here "
            "(the Manage Channels permission in this channel or the 'news-editors' role)"
        ), path
    for path, options in (
        (("topic", "add"), {"id": "chips", "query": "chips"}),
        (("topic", "remove"), {"topic": "korea"}),
    ):
        refused = await ask(fake, *path, person=reader(), **options)
        assert (
            refused.ephemeral
            and refused.text == "only bot admins can change topics (ask whoever runs this bot)"
        )
    assert bot.requests == [], "refused before the core was asked"
    # Reading is for everyone.
    topics = await ask(fake, "topics", person=reader())
    assert "korea (Korea diplomacy)" in topics.text
    assert await list_subscriptions(bot.store, channel_of(fake)) == []
    assert await muted_stories(bot.store, channel_of(fake)) == set()


async def test_the_admin_role_may_manage(fake: FakeDiscord, bot: Bot) -> None:
    editors = await fake.create_role("news-editors")
    reply = await ask(fake, "subscribe", topic="fed", person=reader(editors))
    assert reply.text.startswith("This channel now follows Central banks")
    request = bot.requests[-1]
    assert not request.is_channel_manager and str(editors) in request.roles


async def test_autocomplete_from_the_store(fake: FakeDiscord, bot: Bot) -> None:
    async def suggestions(*path: str, focused: str, **options: str) -> list[tuple[str, str]]:
        interaction = await fake.slash(*path, person=moderator(), focused=focused, **options)
        reply = await fake.answer_to(interaction)
        assert reply.type == 8
        return [(choice["name"], choice["value"]) for choice in reply.payload["choices"]]

    assert await suggestions("subscribe", focused="topic", topic="kor") == [
        ("korea — Korea diplomacy", "korea")
    ]
    assert await suggestions("subscribe", focused="topic", topic="central") == [
        ("fed — Central banks", "fed")
    ]
    assert len(await suggestions("timeline", focused="topic", topic="")) == 2
    assert await suggestions("topic", "remove", focused="topic", topic="fe") == [
        ("fed — Central banks", "fed")
    ]
    assert ("Asia/Seoul", "Asia/Seoul") in await suggestions(
        "subscribe", focused="tz", topic="korea", tz="seoul"
    )
    # Unsubscribe offers only what the channel follows.
    assert await suggestions("unsubscribe", focused="topic", topic="") == []
    await ask(fake, "subscribe", topic="fed")
    assert await suggestions("unsubscribe", focused="topic", topic="") == [("fed — Central banks", "fed")]


async def test_options_the_text_cannot_carry_are_refused(fake: FakeDiscord, bot: Bot) -> None:
    spaced = await ask(fake, "subscribe", topic="korea diplomacy")
    assert spaced.ephemeral and spaced.text == "the topic is one word without spaces, not 'korea diplomacy'"
    neither = await ask(fake, "timeline")
    assert neither.ephemeral and neither.text == "give a topic or a story number (one of them)"
    assert bot.requests == []
    wrong = await ask(fake, "subscribe", topic="korea", at="7am")
    assert wrong.ephemeral and wrong.text == "bad time '7am': use HH:MM, 24-hour"


async def test_a_command_in_a_thread_belongs_to_its_channel(fake: FakeDiscord, bot: Bot) -> None:
    thread = Channel(fake.ids.next(), fake.guild_id, "talk", PUBLIC_THREAD, parent_id=fake.channel_id)
    fake.channels[thread.id] = thread
    interaction = await fake.slash("subscribe", person=moderator(), channel_id=thread.id, topic="korea")
    await fake.answer_to(interaction)
    request = bot.requests[-1]
    assert (request.channel, request.thread) == (str(fake.channel_id), str(thread.id))
    assert len(await list_subscriptions(bot.store, channel_of(fake))) == 1


async def test_slow_work_is_deferred_then_edited_in(fake: FakeDiscord, store: Store, tmp_path: Path) -> None:
    async def slow(request: CommandRequest) -> Message:
        await asyncio.sleep(0.3)
        if request.text.startswith("mute"):
            return Message(text="story 5 is already muted here.", ephemeral=True)
        return Message(text=f"done: {request.text}", ephemeral=True)

    bot = await start_bot(store, discord_settings(tmp_path), handler=slow, quick_s=0.05)
    try:
        interaction = await fake.slash("sources", person=moderator())
        reply = await fake.answer_to(interaction)
        first, last = fake.replies_to(interaction)
        assert (first.kind, first.type, first.ephemeral) == ("callback", 5, True)
        assert (last.kind, reply.text) == ("edit", "done: sources")
        # Mute is announced when it works; this one did not, so the placeholder gives way to a private reply.
        interaction = await fake.slash("mute", person=moderator(), story=5)
        reply = await fake.answer_to(interaction)
        assert [(r.kind, r.ephemeral) for r in fake.replies_to(interaction)] == [
            ("callback", False),
            ("delete", False),
            ("followup", True),
        ]
        assert reply.text == "story 5 is already muted here."
    finally:
        await bot.adapter.stop()


async def test_alert_buttons_run_their_commands(fake: FakeDiscord, bot: Bot) -> None:
    story_id = await korea_story(bot.store)
    buttons = (
        Button("Mute this story", MUTE_STORY, str(story_id)),
        Button("Open timeline", OPEN_TIMELINE, str(story_id)),
    )
    alert = Message(text="alert", title="Korea talks", sections=(Section("what is new"),), buttons=buttons)
    await bot.adapter.send(channel_of(fake), alert)
    [posted] = fake.in_channel(fake.channel_id)
    mute, timeline = (button["custom_id"] for button in posted.payload["components"][0]["components"])
    # A click is the typed command, with its checks: a member without Manage Channels is refused, privately.
    refused = await fake.answer_to(await fake.click(mute, posted, person=reader()))
    assert bot.requests[-1].text == f"mute {story_id}" and refused.ephemeral
    assert refused.text.startswith("only channel managers or bot admins can use 'mute' here")
    assert await muted_stories(bot.store, channel_of(fake)) == set()
    muted = await fake.answer_to(await fake.click(mute, posted, person=moderator()))
    assert bot.requests[-1].text == f"mute {story_id}" and not muted.ephemeral
    assert muted.text.startswith(f"Muted story {story_id}")
    assert await muted_stories(bot.store, channel_of(fake)) == {story_id}
    opened = await fake.answer_to(await fake.click(timeline, posted, person=reader()))
    assert bot.requests[-1].text == f"timeline story {story_id}" and opened.ephemeral
    assert "Timeline: " in opened.text
