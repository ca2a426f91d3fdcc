"""Who may do what on Slack, through the real bolt app and the fake Slack's users.info/conversations.info.

ADMIN is a bot admin (`admins` in the settings); OWNER a workspace owner; CREATOR created the public
channel C1 and the private channels G1 (this workspace only) and G2 (shared with another organisation);
D1 is MEMBER's DM with the app.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from bot.clock import ManualClock
from bot.messages.text import format_local
from bot.models import Destination, Platform
from bot.store.subscriptions import list_subscriptions, muted_stories
from bot.store.topics import get_topic, list_topics
from tests.adapters.slack.conftest import (
    ADMIN,
    CHANNEL,
    CREATOR,
    DM,
    GUEST,
    MEMBER,
    NOW,
    OWNER,
    PRIVATE,
    SHARED,
    STRANGER,
    TEAM,
    Bot,
    StartBot,
)

TOPICS_REFUSED = "only bot admins can change topics (ask whoever runs this bot)"
HINT = "(a workspace admin or owner, or the creator of this private channel)"


def where(channel: str) -> Destination:
    return Destination(Platform.SLACK, TEAM, channel)


def refused_privately(reply: dict[str, Any], text: str) -> bool:
    return reply["response_type"] == "ephemeral" and reply["text"] == text and "\n" not in reply["text"]


async def subscribed(bot: Bot, channel: str) -> set[str]:
    return {s.topic_id for s in await list_subscriptions(bot.runtime.store, where(channel))}


async def test_a_member_cannot_change_the_channel_or_the_topics(start_bot: StartBot) -> None:
    bot = await start_bot()
    await bot.command("subscribe korea", user=ADMIN)
    await bot.command("mute 2", user=ADMIN)
    for text, name in (
        ("subscribe fed", "subscribe"),
        ("unsubscribe korea", "unsubscribe"),
        ("mute 1", "mute"),
        ("unmute 2", "unmute"),
        ("digest now", "digest now"),
    ):
        reply = await bot.command(text, user=MEMBER)
        assert refused_privately(reply, f"only channel managers or bot admins can use '{name}' here {HINT}")
    for text in ('topic add chips "TSMC"', "topic remove korea"):
        assert refused_privately(await bot.command(text, user=MEMBER), TOPICS_REFUSED)
    assert await subscribed(bot, CHANNEL) == {"korea"}
    assert await muted_stories(bot.runtime.store, where(CHANNEL)) == {2}
    assert {t.id for t in await list_topics(bot.runtime.store)} == {"korea", "fed"}
    assert bot.fake.channel_posts(CHANNEL) == [], "no digest went out"
    # Reading is everyone's.
    for text in ("list", "topics", "lookup summit", "timeline korea", "story 1", "sources", "help"):
        assert not (await bot.command(text, user=MEMBER))["text"].startswith("only"), text


async def test_a_workspace_owner_manages_the_channel_but_not_the_topics(start_bot: StartBot) -> None:
    bot = await start_bot()
    assert (await bot.command("subscribe korea", user=OWNER))["response_type"] == "in_channel"
    assert (await bot.command("mute 1", user=OWNER))["response_type"] == "in_channel"
    assert (await bot.command("unmute 1", user=OWNER))["text"].endswith("its alerts come here again.")
    assert (await bot.command("digest now", user=OWNER))["text"] == "Digest on its way (1 topic)."
    assert refused_privately(await bot.command("topic remove korea", user=OWNER), TOPICS_REFUSED)
    assert refused_privately(await bot.command("topic add chips chips", user=OWNER), TOPICS_REFUSED)
    assert await get_topic(bot.runtime.store, "korea") is not None
    assert await get_topic(bot.runtime.store, "chips") is None
    assert await subscribed(bot, CHANNEL) == {"korea"}


async def test_a_bot_admin_changes_the_topics(start_bot: StartBot) -> None:
    bot = await start_bot()
    assert (await bot.command("topic add chips chips", user=ADMIN))["text"].startswith("Added topic chips")
    await bot.command("subscribe chips", user=ADMIN, channel=PRIVATE)
    reply = await bot.command("topic remove chips", user=ADMIN)
    assert reply["text"] == "Removed topic chips (1 subscription ended with it)."
    assert await get_topic(bot.runtime.store, "chips") is None


@pytest.mark.parametrize(
    ("channel", "allowed"),
    [(PRIVATE, True), (CHANNEL, False), (SHARED, False)],
    ids=["private-channel", "public-channel", "shared-channel"],
)
async def test_a_creator_manages_only_a_private_channel_of_this_workspace(
    start_bot: StartBot, channel: str, allowed: bool
) -> None:
    bot = await start_bot()
    reply = await bot.command("subscribe korea", user=CREATOR, channel=channel)
    assert (reply["response_type"] == "in_channel") is allowed
    assert await subscribed(bot, channel) == ({"korea"} if allowed else set())
    assert refused_privately(
        await bot.command("topic remove fed", user=CREATOR, channel=channel), TOPICS_REFUSED
    )


async def test_a_dm_with_the_app_manages_that_dm_only(start_bot: StartBot) -> None:
    bot = await start_bot()
    assert (await bot.command("subscribe korea digest", user=MEMBER, channel=DM))[
        "response_type"
    ] == "in_channel"
    assert (await bot.command("mute 1", user=MEMBER, channel=DM))["response_type"] == "in_channel"
    assert await subscribed(bot, DM) == {"korea"}
    # Their own DM gives them nothing over the topics, nor over any channel.
    assert refused_privately(await bot.command("topic remove korea", user=MEMBER, channel=DM), TOPICS_REFUSED)
    assert refused_privately(
        await bot.command('topic add chips "TSMC"', user=MEMBER, channel=DM), TOPICS_REFUSED
    )
    assert (await bot.command("subscribe korea", user=MEMBER))["text"].startswith("only channel managers")
    assert {t.id for t in await list_topics(bot.runtime.store)} == {"korea", "fed"}
    assert await subscribed(bot, CHANNEL) == set()
    # A DM is its own user's: anyone else in it (were Slack to send that) manages nothing.
    assert (await bot.command("unsubscribe korea", user=CREATOR, channel=DM))["text"].startswith("only")
    assert await subscribed(bot, DM) == {"korea"}


@pytest.mark.parametrize("user", [GUEST, STRANGER], ids=["guest", "admin-of-another-organisation"])
async def test_guests_and_strangers_manage_nothing(start_bot: StartBot, user: str) -> None:
    bot = await start_bot()
    assert (await bot.command("subscribe korea", user=user, channel=SHARED))["text"].startswith("only")
    assert (await bot.command("subscribe korea", user=user))["text"].startswith("only")
    assert await subscribed(bot, SHARED) == set() and await subscribed(bot, CHANNEL) == set()


async def test_digest_now_once_per_user_and_channel_in_ten_minutes(start_bot: StartBot) -> None:
    bot = await start_bot()
    clock = bot.runtime.clock
    assert isinstance(clock, ManualClock)
    await bot.command("subscribe korea digest tz Asia/Seoul", user=OWNER)
    assert (await bot.command("digest now", user=OWNER))["text"] == "Digest on its way (1 topic)."
    clock.advance(9 * 60)
    again = await bot.command("digest now", user=OWNER)
    when = format_local(NOW + timedelta(minutes=10), "Asia/Seoul")
    assert refused_privately(
        again, f"you asked for this channel's digest a short while ago; ask again after {when}"
    )
    # The turn is the user's in this channel: another manager may ask.
    assert (await bot.command("digest now", user=ADMIN))["text"] == "Digest on its way (1 topic)."
    clock.advance(60)
    assert (await bot.command("digest now", user=OWNER))["text"] == "Digest on its way (1 topic)."
