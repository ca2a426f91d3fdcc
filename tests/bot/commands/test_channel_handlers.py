"""subscribe, unsubscribe, list, digest now, topics, topic add/remove, sources against the fake services."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, time

from bot.commands import AccessPolicy, CommandRequest, handle
from bot.models import AlertMode, Destination, Message, Platform, Subscription
from tests.bot.commands.fake_services import FakeServices, sample_services

CHANNEL = Destination(Platform.DISCORD, "G1", "C1")


async def run(text: str, services: FakeServices, *, thread: str | None = None) -> Message:
    caller = CommandRequest(
        platform=Platform.DISCORD,
        workspace="G1",
        channel="C1",
        user="42",
        text=text,
        thread=thread,
        is_channel_manager=True,
    )
    # A bot admin, so the topic commands run too: who may do what is test_dispatch's subject.
    return await handle(caller, services, access=AccessPolicy(admins=("discord:42",)))


def stored(services: FakeServices, topic_id: str = "korea") -> Subscription:
    return services.subscriptions[(CHANNEL.key, topic_id)]


async def test_subscribe_creates_with_defaults_and_replies_to_the_channel() -> None:
    services = sample_services()
    reply = await run("subscribe korea", services)
    assert reply == Message(text="This channel now follows Korea diplomacy (korea): instant alerts.")
    assert stored(services) == Subscription(CHANNEL, "korea")


async def test_subscribe_with_every_option() -> None:
    services = sample_services()
    reply = await run("subscribe korea both at 07:30 tz Asia/Seoul min-sources 3 threaded", services)
    assert reply.text == (
        "This channel now follows Korea diplomacy (korea): instant alerts and a digest at 07:30 Asia/Seoul, "
        "once 3 sources report, threaded by story."
    )
    assert stored(services) == Subscription(
        CHANNEL, "korea", AlertMode.BOTH, time(7, 30), "Asia/Seoul", 3, True
    )


async def test_broadcast_and_webhook_are_switches_kept_until_turned_off() -> None:
    services = sample_services()
    reply = await run("subscribe korea threaded broadcast webhook", services)
    assert reply.text.endswith("threaded by story (replies also in the channel), through a webhook.")
    assert stored(services).broadcast and stored(services).webhook
    await run("subscribe korea min-sources 2", services)
    assert stored(services).broadcast and stored(services).webhook and stored(services).threaded
    await run("subscribe korea quiet no-webhook", services)
    assert not stored(services).broadcast and not stored(services).webhook and stored(services).threaded


async def test_new_story_caution_is_a_subscription_option_kept_until_changed() -> None:
    services = sample_services()
    reply = await run("subscribe korea new-story-sources 3", services)
    assert reply.text.endswith("instant alerts, new stories once 3 sources report.")
    await run("subscribe korea min-sources 2", services)
    assert (stored(services).min_sources, stored(services).new_story_sources) == (2, 3)


async def test_subscribe_again_changes_only_what_is_given_and_clears_a_pause() -> None:
    services = sample_services()
    await run("subscribe korea digest at 08:00 tz Asia/Seoul threaded", services)
    services.subscriptions[(CHANNEL.key, "korea")] = replace(stored(services), paused_reason="bot was kicked")
    reply = await run("subscribe korea at 09:15 unthreaded", services)
    assert (
        reply.text == "Updated: this channel follows Korea diplomacy (korea): a digest at 09:15 Asia/Seoul."
    )
    assert stored(services) == Subscription(CHANNEL, "korea", AlertMode.DIGEST, time(9, 15), "Asia/Seoul")


async def test_a_digest_time_alone_asks_for_a_digest() -> None:
    services = sample_services()
    await run("subscribe korea at 06:00", services)
    assert stored(services).mode is AlertMode.DIGEST
    await run("subscribe chips", services)
    await run("subscribe chips at 06:00", services)
    assert stored(services, "chips").mode is AlertMode.BOTH


async def test_subscribe_from_a_thread_subscribes_the_channel() -> None:
    services = sample_services()
    await run("subscribe korea", services, thread="T9")
    assert stored(services).destination == CHANNEL


async def test_subscribe_to_an_unknown_topic_suggests_one() -> None:
    reply = await run("subscribe kroea", sample_services())
    assert reply == Message(text="unknown topic 'kroea' — did you mean 'korea'?", ephemeral=True)
    reply = await run("subscribe weather", sample_services())
    assert reply.text == "unknown topic 'weather' (see 'topics')"


async def test_unsubscribe() -> None:
    services = sample_services()
    await run("subscribe korea", services)
    assert (await run("unsubscribe korea", services)) == Message(text="This channel no longer follows korea.")
    assert not services.subscriptions
    again = await run("unsubscribe korea", services)
    assert again == Message(text="this channel does not follow 'korea' (see 'list')", ephemeral=True)


async def test_list_shows_this_channels_subscriptions_privately() -> None:
    services = sample_services()
    empty = await run("list", services)
    assert empty.ephemeral and "follows no topics yet" in empty.text
    await run("subscribe korea digest tz Europe/Paris", services)
    await run("subscribe chips min-sources 2", services)
    services.subscriptions[("discord:G1:other", "chips")] = Subscription(
        Destination(Platform.DISCORD, "G1", "other"), "chips"
    )
    reply = await run("list", services)
    assert reply.ephemeral and reply.title == "Subscriptions"
    assert reply.text == "This channel follows 2 topics."
    assert reply.sections[0].text.splitlines() == [
        "chips (Chips): instant alerts, once 2 sources report",
        "korea (Korea diplomacy): a digest at 08:00 Europe/Paris",
    ]


async def test_list_names_a_removed_topic() -> None:
    services = sample_services()
    await run("subscribe chips", services)
    del services.topics["chips"]
    reply = await run("list", services)
    assert reply.sections[0].text == "chips (removed topic): instant alerts"


async def test_digest_now() -> None:
    services = sample_services()
    none = await run("digest now", services)
    assert none.ephemeral and "no digest to send" in none.text
    await run("subscribe korea digest", services)
    assert not services.digest_turns, "a channel with nothing to send costs no turn"
    reply = await run("digest now", services)
    assert reply == Message(text="Digest on its way (1 topic).", ephemeral=True)
    assert services.digest_requests[-1] == CHANNEL
    assert services.digest_turns == [(CHANNEL.key, "42")]


async def test_digest_now_refused_until_the_users_next_turn_in_the_channels_time() -> None:
    services = sample_services()
    await run("subscribe korea digest tz Asia/Seoul", services)
    services.digest_again_at = datetime(2026, 3, 3, 5, 10, tzinfo=UTC)
    reply = await run("digest now", services)
    assert reply == Message(
        text="you asked for this channel's digest a short while ago; ask again after 3 Mar 2026 14:10 KST",
        ephemeral=True,
    )
    assert not services.digest_requests


async def test_topics_marks_the_ones_followed_here() -> None:
    services = sample_services()
    await run("subscribe korea", services)
    reply = await run("topics", services)
    assert reply.ephemeral and reply.text == "2 topics to follow."
    assert reply.sections[0].text.splitlines() == [
        "chips (Chips): TSMC OR semiconductor",
        'korea (Korea diplomacy): "North Korea" OR Pyongyang · followed here',
    ]
    assert (await run("topics", FakeServices())).text.startswith("No topics yet")


async def test_topic_add_validates_the_query_and_refuses_duplicates() -> None:
    services = sample_services()
    reply = await run('topic add energy "oil price" OR OPEC', services)
    assert reply == Message(
        text="Added topic energy: \"oil price\" OR OPEC (follow it with 'subscribe energy')."
    )
    assert services.topics["energy"].query == '"oil price" OR OPEC'
    bad = await run('topic add gas "natural gas', services)
    assert bad == Message(text="bad query: unbalanced quote", ephemeral=True)
    assert "gas" not in services.topics
    again = await run("topic add energy oil", services)
    assert again.text == "topic 'energy' exists already (see 'topics')"


async def test_topic_remove_ends_its_subscriptions() -> None:
    services = sample_services()
    await run("subscribe chips", services)
    reply = await run("topic remove chips", services)
    assert reply == Message(text="Removed topic chips (1 subscription ended with it).")
    assert not services.subscriptions
    missing = await run("topic remove chips", services)
    assert missing.text == "unknown topic 'chips' (see 'topics')"


async def test_sources_show_health() -> None:
    reply = await run("sources", sample_services())
    assert reply.ephemeral and reply.text == "3 sources, 2 with problems."
    assert reply.sections[0].text.splitlines() == [
        "! Asia (https://feeds.example/asia.xml): 3 failures in a row (HTTP 503), not polled yet",
        "✗ https://feeds.example/old.xml: disabled (gone (HTTP 410))",
        "✓ World (https://feeds.example/world.xml): polled 3 Mar 2026 05:00 UTC",
    ]
    assert (await run("sources", FakeServices())).text.startswith("No sources yet")
