"""lookup, timeline, story, mute, unmute and help against the fake services."""

from __future__ import annotations

from bot.commands import AccessPolicy, CommandRequest, handle
from bot.models import Button, Destination, Message, Platform
from tests.bot.commands.fake_services import FakeServices, development, sample_services

CHANNEL = Destination(Platform.CONSOLE, "local", "general")


async def run(text: str, services: FakeServices) -> Message:
    caller = CommandRequest(Platform.CONSOLE, "local", "general", "me", text, is_channel_manager=True)
    return await handle(caller, services, access=AccessPolicy())


async def test_lookup_lists_matching_developments_in_the_channels_time_zone() -> None:
    services = sample_services()
    await run("subscribe korea tz Asia/Seoul", services)
    reply = await run("lookup summit", services)
    assert reply.ephemeral and reply.text == "2 developments matching 'summit'."
    first = reply.sections[0]
    assert first.heading == "Summit set for Hanoi"
    assert first.context == "4 Mar 2026 00:00 KST · 4 sources · story 1: North Korea–US talks"
    assert len(first.links) == 3
    assert (await run("lookup weather", services)).text == "No developments match 'weather'."


async def test_topic_timeline_newest_first_with_a_count_of_earlier_ones() -> None:
    services = sample_services()
    services.developments += [development(100 + n, hours=40 + n, headline=f"Later {n}") for n in range(10)]
    reply = await run("timeline korea", services)
    assert reply.ephemeral and reply.title == "Timeline: Korea diplomacy"
    assert reply.text == "Timeline: Korea diplomacy (13 developments)"
    assert [s.heading for s in reply.sections[:2]] == ["Later 9", "Later 8"]
    assert reply.sections[-1].context == "and 3 earlier developments"


async def test_story_timeline_and_unknowns() -> None:
    services = sample_services()
    reply = await run("timeline 1", services)
    assert [s.heading for s in reply.sections] == [
        "Summit ends early",
        "Summit set for Hanoi",
        "Talks announced",
    ]
    assert (await run("timeline 9", services)) == Message(text="no story 9", ephemeral=True)
    assert (await run("timeline kore", services)).text == "unknown topic 'kore' — did you mean 'korea'?"
    services.developments = []
    assert (await run("timeline korea", services)).text == "Timeline: Korea diplomacy: no developments yet."


async def test_story_shows_a_summary_latest_developments_and_buttons() -> None:
    reply = await run("story 1", sample_services())
    assert reply.ephemeral and reply.title == "Story 1: North Korea–US talks"
    assert reply.sections[0].text == (
        "Topic Korea diplomacy · 3 developments · since 3 Mar 2026 05:00 UTC · latest 4 Mar 2026 11:00 UTC"
    )
    assert [s.heading for s in reply.sections[1:]] == [
        "Summit ends early",
        "Summit set for Hanoi",
        "Talks announced",
    ]
    assert reply.buttons == (
        Button("Mute this story", "mute_story", "1"),
        Button("Open timeline", "open_timeline", "1"),
    )
    assert (await run("story 2", sample_services())).text == "no story 2"


async def test_mute_and_unmute_are_announced_once() -> None:
    services = sample_services()
    muted = await run("mute 1", services)
    assert muted == Message(
        text="Muted story 1 (North Korea–US talks) in this channel; undo with 'unmute 1'."
    )
    assert services.muted == {(CHANNEL.key, 1)}
    assert (await run("mute #1", services)) == Message(
        text="Story 1 (North Korea–US talks) is already muted here.", ephemeral=True
    )
    assert not (await run("unmute 1", services)).ephemeral
    assert not services.muted
    assert (await run("unmute 1", services)).text == "Story 1 (North Korea–US talks) is not muted here."
    assert (await run("mute 5", services)).text == "no story 5"


async def test_help_lists_every_command_and_explains_one() -> None:
    services = sample_services()
    overview = await run("help", services)
    assert overview.ephemeral and overview.title == "storywatch commands"
    assert len(overview.sections[0].text.splitlines()) == 13
    one = await run("help subscribe", services)
    assert one.text.splitlines()[0].startswith("subscribe <topic> [instant|digest|both] [at HH:MM]")
    assert "Channel managers and bot admins only." in one.text
    assert one.text.splitlines()[-1] == "Example: subscribe korea-diplomacy digest at 08:00 tz Asia/Seoul"
    assert "only" not in (await run("help lookup", services)).text
