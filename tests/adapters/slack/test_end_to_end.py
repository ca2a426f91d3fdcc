"""End to end through the Runtime and a real SQLite store: a channel subscribes with /story, a new article
becomes an alert the deliver job posts to the fake Slack, its Mute button works, and a channel Slack
refuses is paused with a reason `list` shows."""

from __future__ import annotations

from datetime import timedelta

from bot.models import Article, Destination, Platform
from bot.pipeline.fanout import ingest_articles
from bot.store.articles import save_articles
from bot.store.subscriptions import list_subscriptions, muted_stories
from bot.stories.persist import open_engine
from tests.adapters.slack.conftest import (
    ADMIN,
    CHANNEL,
    MEMBER,
    NOW,
    OWNER,
    TEAM,
    Bot,
    StartBot,
    eventually,
)
from tests.bot.services.seed import TOPICS
from tests.fakes.slack import Scripted
from tests.fakes.slack_blocks import plain_texts


async def _new_korea_article(bot: Bot, n: int) -> None:
    """A poll's worth of news: a new article on the Korea talks, through the engine and fan-out."""
    store = bot.runtime.store
    source = 1
    article = Article(
        url=f"https://reuters.example/new/{n}",
        title="North Korea and US envoys meet again in Hanoi <!channel>",
        text="Envoys of North Korea and the United States met again in Hanoi to restart the summit talks "
        "on denuclearization, officials said.",
        published=NOW - timedelta(minutes=30),
        source_id=source,
        item_key=f"new-{n}",
        source_name="Reuters",
    )
    saved = (await save_articles(store, source, [article], now=NOW)).saved
    engine = await open_engine(store, TOPICS)
    result = await ingest_articles(store, engine, saved, {a.id for a in saved}, now=NOW)
    assert result.fanout.alerts >= 1


async def test_subscribe_then_an_alert_arrives_and_its_mute_button_works(start_bot: StartBot) -> None:
    bot = await start_bot()
    reply = await bot.command("subscribe korea", user=ADMIN)
    assert reply["response_type"] == "in_channel"
    await _new_korea_article(bot, 1)
    await bot.fake.wait_for(lambda: bot.fake.channel_posts(CHANNEL), seconds=20)
    [alert] = bot.fake.channel_posts(CHANNEL)
    assert bot.fake.rejected == [] and alert.specials == []
    visible = "\n".join(plain_texts(alert.blocks))
    assert "North Korea and US envoys meet again in Hanoi &lt;!channel&gt;" in visible
    buttons = {
        e["text"]["text"]: e for b in alert.blocks or [] if b["type"] == "actions" for e in b["elements"]
    }
    assert {"Mute this story", "Open timeline"} <= set(buttons)
    assert any(e.get("url") == "https://reuters.example/new/1" for e in buttons.values())

    # The alert's button is the typed command, with its checks: a member is refused, privately.
    mute = buttons["Mute this story"]
    here = Destination(Platform.SLACK, TEAM, CHANNEL)
    assert (await bot.click(mute, user=MEMBER, name="refused"))[0] == 200
    refused = await bot.reply("refused")
    assert refused["response_type"] == "ephemeral" and refused["text"].startswith("only channel managers")
    assert await muted_stories(bot.runtime.store, here) == set()
    assert (await bot.click(mute, user=OWNER, name="mute"))[0] == 200
    assert (await bot.reply("mute"))["text"].startswith(f"Muted story {mute['value']} (")
    assert await muted_stories(bot.runtime.store, here) == {int(mute["value"])}


async def test_a_channel_the_app_is_not_in_is_paused_with_the_reason_in_list(start_bot: StartBot) -> None:
    bot = await start_bot()
    await bot.command("subscribe korea", user=ADMIN, channel="C2")
    bot.fake.fail_next("chat.postMessage", Scripted(error="not_in_channel"), channel="C2")
    await _new_korea_article(bot, 2)
    there = Destination(Platform.SLACK, TEAM, "C2")

    async def paused() -> bool:
        return bool((await list_subscriptions(bot.runtime.store, there))[0].paused_reason)

    await eventually(paused)
    listed = await bot.command("list", user=MEMBER, channel="C2")
    assert "(paused: forbidden: not_in_channel: add the app to the channel" in "\n".join(
        [listed["text"], *plain_texts(listed.get("blocks"))]
    )
    assert bot.fake.channel_posts("C2") == []
