"""The alert buttons: a signed block_actions POST (or an interactive envelope over Socket Mode) runs the
command the button stands for, as the user who clicked, through the core's grammar and permission checks."""

from __future__ import annotations

from bot.models import Destination, Platform
from bot.store.subscriptions import list_subscriptions, muted_stories
from tests.adapters.slack.conftest import CHANNEL, MEMBER, TEAM, StartBot

HERE = Destination(Platform.SLACK, TEAM, CHANNEL)
MUTE = {
    "action_id": "storywatch:mute_story:0",
    "value": "1",
    "text": {"type": "plain_text", "text": "Mute this story"},
}


async def test_mute_and_timeline_buttons_run_their_commands(start_bot: StartBot) -> None:
    bot = await start_bot()
    assert (await bot.click(MUTE, name="mute"))[0] == 200
    reply = await bot.reply("mute")
    assert reply["response_type"] == "in_channel" and reply["replace_original"] is False
    assert reply["text"].startswith("Muted story 1 (")
    assert await muted_stories(bot.runtime.store, HERE) == {1}

    timeline = {**MUTE, "action_id": "storywatch:open_timeline:1"}
    assert (await bot.click(timeline, name="timeline"))[0] == 200
    reply = await bot.reply("timeline")
    assert reply["response_type"] == "ephemeral" and reply["text"].startswith("Timeline: ")


async def test_clicks_the_core_refuses_or_does_not_know_change_nothing(start_bot: StartBot) -> None:
    bot = await start_bot()
    # A forged or stale value is refused by the core's grammar, privately.
    assert (await bot.click({**MUTE, "value": "1; subscribe korea"}, name="bad"))[0] == 200
    reply = await bot.reply("bad")
    assert reply["response_type"] == "ephemeral"
    assert reply["text"] == "unexpected 'subscribe' after the story number"
    assert await list_subscriptions(bot.runtime.store, HERE) == []
    # A story that does not exist.
    assert (await bot.click({**MUTE, "value": "999"}, name="missing"))[0] == 200
    assert (await bot.reply("missing"))["text"] == "no story 999"
    # An action the core has no command for, and a link button: acknowledged, nothing runs.
    assert (await bot.click({**MUTE, "action_id": "storywatch:explode:0"}, name="odd"))[0] == 200
    assert (await bot.click({"action_id": "storywatch-link:0:0", "url": "https://x.example"}, name="link"))[
        0
    ] == 200
    assert await muted_stories(bot.runtime.store, HERE) == set()
    assert [name for name, _ in bot.fake.responses] == ["bad", "missing"]


async def test_an_unsigned_click_gets_401_and_mutes_nothing(start_bot: StartBot) -> None:
    bot = await start_bot()
    body = bot.click_body(MUTE, name="forged")
    assert (await bot.post(body, secret="forged"))[0] == 401
    assert (await bot.post(body, timestamp="1000000000"))[0] == 401
    assert await muted_stories(bot.runtime.store, HERE) == set()
    assert bot.fake.responses == []


async def test_a_click_over_socket_mode_is_acked_and_runs(start_bot: StartBot) -> None:
    bot = await start_bot(mode="socket")
    envelope = await bot.fake.socket.send("interactive", bot.click_payload(MUTE, name="socket-click"))
    await bot.fake.wait_for(lambda: bot.fake.socket.ack_for(envelope) is not None)
    assert (await bot.reply("socket-click"))["text"].startswith("Muted story 1 (")
    assert await muted_stories(bot.runtime.store, HERE) == {1}


async def test_a_member_who_manages_nothing_is_refused_the_mute_button_privately(start_bot: StartBot) -> None:
    bot = await start_bot()
    assert (await bot.click(MUTE, user=MEMBER, name="member"))[0] == 200
    reply = await bot.reply("member")
    assert reply["response_type"] == "ephemeral"
    assert reply["text"] == (
        "only channel managers or bot admins can use 'mute' here "
        "(a workspace admin or owner, or the creator of this private channel)"
    )
    assert await muted_stories(bot.runtime.store, HERE) == set()
