"""Story threads, forum posts and webhook delivery, sent by the adapter to the fake Discord."""

from __future__ import annotations

import pytest

from bot.clock import SystemClock
from bot.messages import DeliveryError, Receipt
from bot.messages.serial import message_to_json
from bot.models import Destination, Message, Platform, Section, Subscription
from bot.store.outbox import NewMessage, enqueue_messages, list_messages
from bot.store.story_threads import story_thread
from bot.store.subscriptions import list_subscriptions, upsert_subscription
from jobs.delivery import Deliverer
from tests.adapters.discord.conftest import Bot, korea_story
from tests.fakes.discord import FORUM, Answer, FakeDiscord


def alert(n: int, *, story: bool = True, webhook: bool = False, title: str = "Korea talks") -> Message:
    metadata = {"kind": "alert", "idempotency_key": f"alert:{n}#0"}
    if story:
        metadata |= {"thread": "story", "story_id": "7", "thread_name": "Korea talks resume"}
    if webhook:
        metadata["via"] = "webhook"
    return Message(
        text=f"alert {n}",
        title=title,
        sections=(Section(f"development {n}", heading=f"Dev {n}"),),
        metadata=metadata,
    )


def where(fake: FakeDiscord, channel_id: int, thread: str | None = None) -> Destination:
    return Destination(Platform.DISCORD, str(fake.guild_id), str(channel_id), thread)


async def test_a_story_starts_a_thread_and_later_developments_post_into_it(
    fake: FakeDiscord, bot: Bot
) -> None:
    first = await bot.adapter.send(where(fake, fake.channel_id), alert(1))
    [thread] = fake.threads_of(fake.channel_id)
    assert thread.name == "Korea talks resume"
    # The thread grows from the alert itself, so the channel shows the alert with its thread under it.
    assert first == Receipt(first.message_id, str(thread.id)) and first.message_id == str(thread.id)
    second = await bot.adapter.send(where(fake, fake.channel_id, first.thread_id), alert(2))
    assert second.thread_id == first.thread_id
    assert [m.payload["embeds"][0]["title"] for m in fake.in_channel(thread.id)] == ["Dev 2"]
    assert [m.payload["embeds"][0]["title"] for m in fake.in_channel(fake.channel_id)] == ["Dev 1"]


async def test_a_deleted_or_locked_story_thread_is_gone_and_a_continuation_stays_in_the_channel(
    fake: FakeDiscord, bot: Bot
) -> None:
    first = await bot.adapter.send(where(fake, fake.channel_id), alert(1))
    assert first.thread_id is not None
    fake.channels[int(first.thread_id)].locked = True
    with pytest.raises(DeliveryError) as locked:
        await bot.adapter.send(where(fake, fake.channel_id, first.thread_id), alert(2))
    assert locked.value.kind == "gone" and "deleted or locked" in locked.value.reason
    fake.delete_channel(int(first.thread_id))
    with pytest.raises(DeliveryError) as deleted:
        await bot.adapter.send(where(fake, fake.channel_id, first.thread_id), alert(3))
    assert deleted.value.kind == "gone"
    # Not a story's alert (a continuation of a long message): it goes on in the channel.
    receipt = await bot.adapter.send(where(fake, fake.channel_id, first.thread_id), alert(4, story=False))
    assert receipt.thread_id is None and len(fake.in_channel(fake.channel_id)) == 2


async def test_through_the_deliverer_a_story_thread_is_remembered_and_replaced_when_gone(
    fake: FakeDiscord, bot: Bot
) -> None:
    story_id = await korea_story(bot.store)
    channel = where(fake, fake.channel_id)
    await upsert_subscription(
        bot.store, Subscription(channel, "korea", threaded=True), now=SystemClock().now()
    )

    async def deliver(n: int) -> None:
        message = alert(n)
        message.metadata.update({"story_id": str(story_id), "idempotency_key": ""})
        row = NewMessage(f"alert:{n}", channel, "alert", message_to_json(message))
        await enqueue_messages(bot.store, [row], now=SystemClock().now())
        await Deliverer(bot.store, {Platform.DISCORD: bot.adapter}, SystemClock(), owner=f"t:{n}").drain()

    await deliver(1)
    await deliver(2)
    [thread] = fake.threads_of(fake.channel_id)
    assert await story_thread(bot.store, channel, story_id) == str(thread.id)
    assert [m.embeds[0]["title"] for m in fake.in_channel(thread.id)] == ["Dev 2"]
    fake.delete_channel(thread.id)
    await deliver(3)
    [replacement] = fake.threads_of(fake.channel_id)
    assert await story_thread(bot.store, channel, story_id) == str(replacement.id) != str(thread.id)
    assert [m.embeds[0]["title"] for m in fake.in_channel(fake.channel_id)] == ["Dev 1", "Dev 3"]
    [subscription] = await list_subscriptions(bot.store, channel)
    assert subscription.paused_reason is None


async def test_a_retried_story_alert_is_posted_once_and_gets_its_thread(fake: FakeDiscord, bot: Bot) -> None:
    fake.fail_next("thread", Answer(503), channel=fake.channel_id)
    with pytest.raises(DeliveryError) as refused:
        await bot.adapter.send(where(fake, fake.channel_id), alert(1))
    assert refused.value.kind == "retry"
    receipt = await bot.adapter.send(where(fake, fake.channel_id), alert(1))
    assert len(fake.in_channel(fake.channel_id)) == 1 and fake.nonce_replays == 1
    assert receipt.thread_id == receipt.message_id == str(fake.threads_of(fake.channel_id)[0].id)


async def test_no_thread_permission_pauses_with_the_reason(fake: FakeDiscord, bot: Bot) -> None:
    fake.fail_next("thread", Answer(403, code=50013, message="Missing Permissions"), channel=fake.channel_id)
    with pytest.raises(DeliveryError) as refused:
        await bot.adapter.send(where(fake, fake.channel_id), alert(1))
    assert refused.value.kind == "forbidden"
    assert refused.value.reason.startswith("the bot cannot start story threads here (code 50013)")
    assert len(fake.in_channel(fake.channel_id)) == 1, "the alert itself was posted"


async def test_a_forum_gets_one_post_per_story(fake: FakeDiscord, bot: Bot) -> None:
    first = await bot.adapter.send(where(fake, fake.forum_id), alert(1))
    [post] = fake.threads_of(fake.forum_id)
    assert post.name == "Korea talks resume" and first == Receipt(str(post.id), str(post.id))
    await bot.adapter.send(where(fake, fake.forum_id, first.thread_id), alert(2))
    assert [m.payload["embeds"][0]["title"] for m in fake.in_channel(post.id)] == ["Dev 1", "Dev 2"]
    # Without story threads every message is a post of its own, named by its title.
    other = await bot.adapter.send(
        where(fake, fake.forum_id), alert(3, story=False, title="Fed raises rates")
    )
    assert other.thread_id is not None and fake.channels[int(other.thread_id)].name == "Fed raises rates"


async def test_webhook_delivery_creates_one_webhook_named_for_the_bot_and_reuses_it(
    fake: FakeDiscord, bot: Bot
) -> None:
    first = await bot.adapter.send(where(fake, fake.channel_id), alert(1, story=False, webhook=True))
    await bot.adapter.send(where(fake, fake.channel_id), alert(2, story=False, webhook=True))
    [hook] = fake.webhooks.values()
    assert hook["name"] == "storywatch" and hook["channel_id"] == str(fake.channel_id)
    posted = fake.in_channel(fake.channel_id)
    assert [m.webhook_id for m in posted] == [int(hook["id"])] * 2 and first.message_id == str(posted[0].id)
    assert all(m.payload["username"] == "storywatch" for m in posted)
    assert fake.requests.count(("POST", f"/api/v10/channels/{fake.channel_id}/webhooks")) == 1


async def test_webhook_story_threads_in_a_channel_and_a_forum(fake: FakeDiscord, bot: Bot) -> None:
    first = await bot.adapter.send(where(fake, fake.channel_id), alert(1, webhook=True))
    assert first.thread_id == first.message_id
    await bot.adapter.send(where(fake, fake.channel_id, first.thread_id), alert(2, webhook=True))
    assert first.thread_id is not None and len(fake.in_channel(int(first.thread_id))) == 1
    post = await bot.adapter.send(where(fake, fake.forum_id), alert(3, webhook=True))
    assert post.thread_id is not None and fake.channels[int(post.thread_id)].name == "Korea talks resume"
    assert fake.in_channel(int(post.thread_id))[0].webhook_id is not None


async def test_a_deleted_webhook_is_replaced_and_a_missing_permission_pauses(
    fake: FakeDiscord, bot: Bot
) -> None:
    await bot.adapter.send(where(fake, fake.channel_id), alert(1, story=False, webhook=True))
    fake.webhooks.clear()
    await bot.adapter.send(where(fake, fake.channel_id), alert(2, story=False, webhook=True))
    assert len(fake.webhooks) == 1 and len(fake.in_channel(fake.channel_id)) == 2
    news = fake.add_channel("no-webhooks")
    fake.fail_next("webhooks", Answer(403, code=50013, message="Missing Permissions"), channel=news)
    with pytest.raises(DeliveryError) as refused:
        await bot.adapter.send(where(fake, news), alert(3, story=False, webhook=True))
    assert refused.value.kind == "forbidden" and "Manage Webhooks" in refused.value.reason


async def test_an_existing_webhook_of_the_bot_is_reused(fake: FakeDiscord, bot: Bot) -> None:
    other = fake.add_channel("other")
    forum = fake.add_channel("more-stories", type=FORUM)
    await bot.adapter.send(where(fake, other), alert(1, story=False, webhook=True))
    created = dict(fake.webhooks)
    await bot.adapter.stop()
    restarted = await _restart(bot)
    try:
        await restarted.adapter.send(where(fake, other), alert(2, story=False, webhook=True))
        await restarted.adapter.send(where(fake, forum), alert(3, webhook=True))
    finally:
        await restarted.adapter.stop()
    assert created.keys() <= fake.webhooks.keys() and len(fake.webhooks) == 2, "one per channel, reused"


async def _restart(bot: Bot) -> Bot:
    from tests.adapters.discord.conftest import start_bot

    return await start_bot(bot.store, bot.settings)


async def test_a_long_story_alert_continues_in_its_new_thread_through_the_deliverer(
    fake: FakeDiscord, bot: Bot
) -> None:
    story_id = await korea_story(bot.store)
    sections = tuple(Section(f"part of the story {n}", heading=f"Section {n}") for n in range(14))
    metadata = alert(1).metadata | {"story_id": str(story_id), "idempotency_key": ""}
    long = Message(text="long", title="Korea talks", sections=sections, metadata=metadata)
    await enqueue_messages(
        bot.store,
        [NewMessage("alert:long", where(fake, fake.channel_id), "alert", message_to_json(long))],
        now=SystemClock().now(),
    )
    deliverer = Deliverer(bot.store, {Platform.DISCORD: bot.adapter}, SystemClock(), owner="t:1")
    report = await deliverer.drain()
    [thread] = fake.threads_of(fake.channel_id)
    [parent] = fake.in_channel(fake.channel_id)
    [continued] = fake.in_channel(thread.id)
    assert report.sent == 1 and parent.id == thread.id
    assert [e["title"] for e in parent.embeds + continued.embeds] == [f"Section {n}" for n in range(14)]
    [row] = await list_messages(bot.store, limit=5)
    assert row.thread_id == str(thread.id), "the thread is recorded for the story's next alerts"
