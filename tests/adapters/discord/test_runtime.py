"""The whole bot with Discord: Runtime, real SQLite, real jobs polling a local feed, the adapter on the fake.

Also how the adapter connects: commands synced to a test server, several shards when Discord asks for
them, a REST-only process, and a token Discord refuses.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from functools import partial
from pathlib import Path
from typing import Any

import pytest

import bot.runtime as runtime_module
from adapters.discord import DiscordAdapter
from adapters.discord.client import ShardedClient
from bot.chat import AdapterContext
from bot.clock import SteppedClock, SystemClock
from bot.config import ConfigError, Secrets, settings_from_mapping
from bot.models import Destination, Message, Platform
from bot.runtime import Runtime
from bot.store import Store
from bot.store.ports import adapter_ports
from bot.store.subscriptions import list_subscriptions
from jobs.delivery import DeliverySettings
from jobs.scheduler import JobSettings
from jobs.scheduler import start_jobs as start_scheduler
from tests.adapters.discord.conftest import ask, discord_settings, point_discord_py_at, start_bot
from tests.fakes.discord import FORUM, TOKEN, FakeDiscord
from tests.fakes.feed_server import FeedServer

START = datetime(2026, 5, 1, 8, 0, tzinfo=UTC)
QUICK_JOBS = JobSettings(
    poll_every_s=0.2,
    engine_every_s=0.2,
    deliver_every_s=0.2,
    delivery=DeliverySettings(idle_check_s=0.05, backoff_base_s=0.05),
)


def rss(items: list[tuple[str, str, datetime]]) -> bytes:
    body = "".join(
        f"<item><title>{title}</title><link>{link}</link><guid>{link}</guid>"
        f"<pubDate>{format_datetime(when)}</pubDate><description>{title}, said officials.</description>"
        "</item>"
        for title, link, when in items
    )
    return (
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>Wire</title>{body}</channel></rss>'.encode()
    )


async def test_subscribe_by_slash_command_then_news_arrives_as_an_alert(
    fake: FakeDiscord, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The runtime's own jobs (poll, deliver, digest), waking every 0.2 s instead of every few seconds.
    monkeypatch.setattr(runtime_module, "start_scheduler", partial(start_scheduler, job_settings=QUICK_JOBS))
    async with FeedServer() as feeds:
        feeds.add("/wire.xml", rss([("Markets open higher", "https://wire.example/1", START)]))
        settings = settings_from_mapping(
            {
                "data_dir": str(tmp_path),
                "ingest": {"allowed_private_hosts": ["127.0.0.1"], "politeness_delay_s": 0},
                "discord": {"enabled": True, "test_guild": fake.guild_id},
                "sources": [{"url": feeds.url("/wire.xml"), "title": "Wire"}],
                "topics": [{"id": "korea", "name": "Korea diplomacy", "query": '"north korea" OR pyongyang'}],
            }
        )
        clock = SteppedClock(START + timedelta(minutes=5))
        runtime = Runtime(settings, clock=clock, secrets=Secrets(discord_token=TOKEN))
        await runtime.start()
        try:
            [adapter] = runtime.adapters
            assert isinstance(adapter, DiscordAdapter)
            assert list(fake.commands) == [fake.guild_id], "synced to the test server only"
            # The source's first poll stores what is there without announcing it.
            await fake.wait_for(lambda: ("GET", "/wire.xml") in [(r.method, r.path) for r in feeds.requests])
            reply = await ask(fake, "subscribe", topic="korea")
            assert reply.text == "This channel now follows Korea diplomacy (korea): instant alerts."
            channel = Destination(Platform.DISCORD, str(fake.guild_id), str(fake.channel_id))
            assert len(await list_subscriptions(runtime.store, channel)) == 1

            news = (
                "North Korea agrees to talks in Hanoi <@123>",
                "https://wire.example/2",
                START + timedelta(minutes=10),
            )
            feeds.add("/wire.xml", rss([news, ("Markets open higher", "https://wire.example/1", START)]))
            clock.set(clock.now() + timedelta(minutes=20))
            [alert] = await fake.wait_for(lambda: fake.in_channel(fake.channel_id), within_s=20)
        finally:
            await runtime.stop()
    [embed] = alert.embeds
    # The story's label is made of the headline's words: the mention is no word of it.
    assert embed["author"]["name"] == "New story: Hanoi · talks · Korea"
    assert embed["title"] == "North Korea agrees to talks in Hanoi \\<@123\\>"
    assert embed["fields"] == [{"name": "Wire", "value": "https://wire.example/2", "inline": False}]
    assert alert.payload["allowed_mentions"] == {"parse": []} and alert.nonce is not None
    assert "Korea diplomacy" in embed["footer"]["text"]


@pytest.fixture
async def fake_with(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Callable[..., Any]]:
    started: list[FakeDiscord] = []

    async def make(**options: Any) -> FakeDiscord:
        fake = await FakeDiscord(**options).start()
        point_discord_py_at(fake, monkeypatch)
        started.append(fake)
        return fake

    yield make
    for fake in started:
        await fake.stop()


async def test_many_servers_get_several_shards(
    fake_with: Callable[..., Any], store: Store, tmp_path: Path
) -> None:
    fake: FakeDiscord = await fake_with(shard_count=2, guilds=2)
    far = fake.add_channel("far", guild_id=fake.guild_ids[1])
    bot = await start_bot(store, discord_settings(tmp_path))
    try:
        assert isinstance(bot.adapter.client, ShardedClient)
        await fake.wait_for(lambda: len(fake.gateway.identified) == 2)
        assert sorted(tuple(i["shard"]) for i in fake.gateway.identified) == [(0, 2), (1, 2)]
        assert all(i["intents"] == 1 for i in fake.gateway.identified), "the guilds intent only"
        interaction = await fake.slash("topics", channel_id=far)
        assert "korea (Korea diplomacy)" in (await fake.answer_to(interaction)).text
    finally:
        await bot.adapter.stop()


async def test_one_server_is_one_connection_with_the_guilds_intent_only(
    fake: FakeDiscord, store: Store, tmp_path: Path
) -> None:
    bot = await start_bot(store, discord_settings(tmp_path))
    try:
        [identify] = fake.gateway.identified
        assert identify["intents"] == 1 and identify.get("shard") in (None, [0, 1])
        assert not isinstance(bot.adapter.client, ShardedClient)
    finally:
        await bot.adapter.stop()


async def test_a_rest_only_process_sends_without_the_gateway(
    fake: FakeDiscord, store: Store, tmp_path: Path
) -> None:
    bot = await start_bot(store, discord_settings(tmp_path, gateway=False))
    try:
        forum = Destination(Platform.DISCORD, str(fake.guild_id), str(fake.forum_id))
        receipt = await bot.adapter.send(forum, Message(text="Fed raises rates", title="Fed raises rates"))
    finally:
        await bot.adapter.stop()
    assert fake.gateway.identified == [] and fake.commands == {}
    assert receipt.thread_id is not None and fake.channels[int(receipt.thread_id)].type != FORUM
    assert ("GET", f"/api/v10/channels/{fake.forum_id}") in fake.requests, "the channel type asked over REST"


async def test_a_refused_or_missing_token_is_a_clear_configuration_error(
    fake_with: Callable[..., Any], store: Store, tmp_path: Path
) -> None:
    await fake_with(token="another-token")
    settings = discord_settings(tmp_path)
    with pytest.raises(ConfigError, match="DISCORD_TOKEN was refused by Discord"):
        await start_bot(store, settings)
    adapter = DiscordAdapter(AdapterContext(settings, Secrets(), adapter_ports(store), SystemClock()))
    with pytest.raises(ConfigError, match="DISCORD_TOKEN is not in the environment"):
        await adapter.start(lambda request: _never(request))


async def _never(request: object) -> Message:
    raise AssertionError("no command expected")
