"""Every command end to end: scripted console lines → Runtime.on_command → real SQLite store → reply."""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from adapters.console import ConsoleAdapter
from bot.clock import ManualClock
from bot.config import ConfigError, Settings, settings_from_mapping
from bot.models import AlertMode, Message, Subscription, Topic
from bot.runtime import JobContext, JobHooks, Runtime, build_adapters, enabled_platforms, start_jobs
from bot.store import open_store
from bot.store.schema import stories
from bot.store.sources import disable_source, list_source_statuses, record_poll_failure
from bot.store.subscriptions import list_subscriptions, muted_stories
from bot.store.topics import get_topic, list_topics
from tests.bot.services.seed import T0, TOPICS, seed_news

NOW = T0.replace(day=20)


@dataclass
class FakeJobs:
    """Stands in for jobs.scheduler: records the hooks' calls and how it was stopped."""

    context: JobContext | None = None
    stopped: list[bool] = field(default_factory=list)
    topic_sets: list[list[str]] = field(default_factory=list)
    digests: list[list[Subscription]] = field(default_factory=list)

    async def start(self, context: JobContext, hooks: JobHooks) -> FakeJobs:
        self.context = context
        hooks.topics_changed.append(self._topics_changed)
        hooks.request_digest = self._digest
        return self

    async def _topics_changed(self, topics: Sequence[Topic]) -> None:
        self.topic_sets.append([topic.id for topic in topics])

    async def _digest(self, subscriptions: Sequence[Subscription]) -> None:
        self.digests.append(list(subscriptions))

    async def stop(self, *, drain: bool) -> None:
        self.stopped.append(drain)


def make_settings(tmp_path: Path, **extra: Any) -> Settings:
    topics = [{"id": t.id, "name": t.name, "query": t.query} for t in TOPICS]
    sources = [{"url": "https://reuters.example/feed", "title": "Reuters"}]
    return settings_from_mapping({"data_dir": str(tmp_path), "topics": topics, "sources": sources, **extra})


@pytest.fixture
async def settings(tmp_path: Path) -> Settings:
    """Settings over a SQLite file already holding the seed news (run through the real engine)."""
    chosen = make_settings(tmp_path)
    store = await open_store(chosen.effective_database_url)
    try:
        await seed_news(store)
    finally:
        await store.close()
    return chosen


Session = Callable[..., Awaitable[tuple[list[Message], Runtime, FakeJobs]]]


@pytest.fixture
async def session() -> AsyncIterator[Session]:
    """Runs scripted lines through a started Runtime; the runtime stays up for checks, then stops."""
    started: list[Runtime] = []

    async def run(
        settings: Settings,
        lines: Sequence[str],
        *,
        manager: bool = True,
        user: str = "you",
        real_jobs: bool = False,
    ) -> tuple[list[Message], Runtime, FakeJobs]:
        adapter = ConsoleAdapter(
            lines=lines, output=io.StringIO(), width=160, is_channel_manager=manager, user=user
        )
        jobs = FakeJobs()
        runtime = Runtime(
            settings,
            clock=ManualClock(NOW),
            adapters=[adapter],
            jobs=start_jobs if real_jobs else jobs.start,
        )
        started.append(runtime)
        await runtime.start()
        await asyncio.wait_for(adapter.wait_closed(), 30)
        return [reply for _, reply in adapter.replies], runtime, jobs

    yield run
    for runtime in started:
        await runtime.stop()


def one_line(reply: Message) -> str:
    assert reply.ephemeral and "\n" not in reply.text and not reply.sections, reply
    return reply.text


async def test_subscribe_with_every_option_then_change_it(settings: Settings, session: Session) -> None:
    replies, runtime, _ = await session(
        settings,
        [
            "subscribe korea digest at 07:30 tz asia/seoul min-sources 2 threaded",
            "/story list",
            "subscribe korea instant unthreaded",
            "subscribe fed both at 18:00",
        ],
    )
    assert replies[0].text == (
        "This channel now follows Korea diplomacy (korea): a digest at 07:30 Asia/Seoul, "
        "once 2 sources report, threaded by story."
    )
    assert not replies[0].ephemeral
    assert replies[1].title == "Subscriptions" and "korea (Korea diplomacy)" in replies[1].sections[0].text
    assert replies[2].text.startswith("Updated: this channel follows Korea diplomacy")
    saved = {sub.topic_id: sub for sub in await list_subscriptions(runtime.store, _console(runtime))}
    korea, fed = saved["korea"], saved["fed"]
    assert (korea.mode, korea.timezone, korea.min_sources, korea.threaded) == (
        AlertMode.INSTANT,
        "Asia/Seoul",
        2,
        False,
    )
    assert (fed.mode, f"{fed.digest_at:%H:%M}") == (AlertMode.BOTH, "18:00")


def _console(runtime: Runtime) -> Any:
    [adapter] = runtime.adapters
    assert isinstance(adapter, ConsoleAdapter)
    return adapter.destination


async def test_unsubscribe_and_list(settings: Settings, session: Session) -> None:
    replies, runtime, _ = await session(
        settings, ["list", "subscribe fed", "unsubscribe fed", "unsubscribe fed", "list"]
    )
    assert one_line(replies[0]).startswith("This channel follows no topics yet")
    assert replies[2].text == "This channel no longer follows fed." and not replies[2].ephemeral
    assert one_line(replies[3]) == "this channel does not follow 'fed' (see 'list')"
    assert await list_subscriptions(runtime.store, _console(runtime)) == []


async def test_topics_and_topic_add_remove_reach_the_engine(settings: Settings, session: Session) -> None:
    replies, runtime, jobs = await session(
        settings,
        [
            "topics",
            'topic add chips "TSMC" OR semiconductor NOT stocks',
            "subscribe chips",
            "topic remove chips",
            'topic add bad "unbalanced',
            "topic add korea pyongyang",
            "topic remove nope",
        ],
    )
    assert replies[0].title == "Topics" and "fed (Central banks)" in replies[0].sections[0].text
    assert replies[1].text.startswith("Added topic chips")
    assert replies[3].text == "Removed topic chips (1 subscription ended with it)."
    assert one_line(replies[4]).startswith("bad query: position ")
    assert one_line(replies[5]) == "topic 'korea' exists already (see 'topics')"
    assert one_line(replies[6]).startswith("unknown topic 'nope'")
    assert jobs.topic_sets == [["chips", "fed", "korea"], ["fed", "korea"]]
    assert await get_topic(runtime.store, "chips") is None


async def test_changes_need_a_channel_manager(settings: Settings, session: Session) -> None:
    lines = ["subscribe korea", "unsubscribe korea", "topic add x y", "topic remove korea", "topics"]
    replies, runtime, _ = await session(settings, lines, manager=False)
    refusals = [one_line(reply) for reply in replies[:4]]
    assert refusals == [
        "only channel managers or bot admins can use 'subscribe' here",
        "only channel managers or bot admins can use 'unsubscribe' here",
        "only bot admins can change topics (ask whoever runs this bot)",
        "only bot admins can change topics (ask whoever runs this bot)",
    ]
    assert replies[4].title == "Topics"
    assert await list_subscriptions(runtime.store, _console(runtime)) == []
    assert {t.id for t in await list_topics(runtime.store)} == {"korea", "fed"}


async def test_a_bot_admin_from_the_settings_may_change(tmp_path: Path, session: Session) -> None:
    settings = make_settings(tmp_path, admins=["console:boss"])
    replies, _, _ = await session(settings, ["subscribe korea"], manager=False, user="boss")
    assert replies[0].text.startswith("This channel now follows")


async def test_lookup_finds_stored_developments_with_links(settings: Settings, session: Session) -> None:
    lines = ["lookup Hanoi summit", "lookup volcano", "lookup zebra crossing"]
    replies, _, _ = await session(settings, lines)
    found = replies[0]
    assert found.title == "Lookup" and found.text.endswith("matching 'Hanoi summit'.")
    first = found.sections[0]
    # The development's most shared headline, of its three reports.
    assert first.heading == "Trump and Kim will meet in Hanoi for second summit"
    assert {link.label for link in first.links} == {"Reuters", "AP", "BBC"}
    assert first.context is not None and "3 sources" in first.context and "story " in first.context
    # An article no topic took is still found, on its own.
    assert replies[1].sections[0].heading == "Volcano erupts on remote island"
    assert one_line(replies[2]) == "No developments match 'zebra crossing'."


async def test_timeline_story_mute_unmute(settings: Settings, session: Session) -> None:
    store = await open_store(settings.effective_database_url)
    try:
        async with store.read() as conn:
            query = select(stories.c.id).where(stories.c.topic_id == "korea").order_by(stories.c.id)
            story_id = (await conn.execute(query)).scalars().first()
    finally:
        await store.close()
    assert story_id is not None
    replies, runtime, _ = await session(
        settings,
        [
            "timeline korea",
            f"timeline {story_id}",
            f"story {story_id}",
            f"mute {story_id}",
            f"mute {story_id}",
            f"unmute {story_id}",
            f"unmute {story_id}",
            f"mute {story_id}",
        ],
    )
    topic, story_line, details = replies[:3]
    assert topic.title == "Timeline: Korea diplomacy" and topic.sections
    times = [section.context for section in topic.sections]
    assert all(context and "Mar 2026" in context for context in times)
    assert story_line.title is not None and story_line.title.startswith("Timeline: ")
    assert details.title is not None and details.title.startswith(f"Story {story_id}: ")
    assert details.sections[0].text.startswith("Topic Korea diplomacy · ")
    assert [button.action for button in details.buttons] == ["mute_story", "open_timeline"]
    assert replies[3].text.startswith(f"Muted story {story_id}") and not replies[3].ephemeral
    assert one_line(replies[4]).endswith("is already muted here.")
    assert replies[5].text.endswith("its alerts come here again.")
    assert one_line(replies[6]).endswith("is not muted here.")
    assert await muted_stories(runtime.store, _console(runtime)) == {story_id}


async def test_digest_now_asks_the_jobs(settings: Settings, session: Session) -> None:
    replies, _, jobs = await session(settings, ["digest now", "subscribe korea digest", "digest now"])
    assert one_line(replies[0]).startswith("This channel follows no topics")
    assert one_line(replies[2]) == "Digest on its way (1 topic)."
    [[subscription]] = jobs.digests
    assert subscription.topic_id == "korea" and subscription.mode is AlertMode.DIGEST


async def test_digest_now_reaches_the_channel_through_the_real_jobs(
    settings: Settings, session: Session
) -> None:
    lines = ["subscribe korea digest at 07:00 tz Asia/Seoul", "digest now", "digest now"]
    replies, runtime, _ = await session(settings, lines, real_jobs=True)
    assert one_line(replies[1]) == "Digest on its way (1 topic)."
    [adapter] = runtime.adapters
    assert isinstance(adapter, ConsoleAdapter)
    for _ in range(400):
        if adapter.sent:
            break
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.3)
    # Two requests in the same minute make one digest.
    [(destination, digest)] = adapter.sent
    assert destination == adapter.destination
    assert digest.title is not None and digest.title.startswith("Korea diplomacy: digest for")
    assert digest.metadata.get("kind") == "digest"


async def test_sources_show_their_health(settings: Settings, session: Session) -> None:
    store = await open_store(settings.effective_database_url)
    try:
        by_title = {s.source.title: s.source.id for s in await list_source_statuses(store)}
        await record_poll_failure(store, by_title["AP"], now=NOW, error="HTTP 503")
        await disable_source(store, by_title["BBC"], now=NOW, reason="gone (HTTP 410)")
    finally:
        await store.close()
    replies, _, _ = await session(settings, ["sources"])
    lines = replies[0].sections[0].text.splitlines()
    assert replies[0].text == "3 sources, 2 with problems."
    assert lines[0].startswith("! AP (https://ap.example/feed): 1 failure in a row (HTTP 503)")
    assert lines[1] == "✗ BBC (https://bbc.example/feed): disabled (gone (HTTP 410))"
    assert lines[2].startswith("✓ Reuters (https://reuters.example/feed): not polled yet")


async def test_help(settings: Settings, session: Session) -> None:
    replies, _, _ = await session(settings, ["help", "help subscribe", "/story"])
    assert replies[0].title == "storywatch commands" and replies[2] == replies[0]
    assert replies[1].text.startswith("subscribe <topic> [instant|digest|both]")


@pytest.mark.parametrize(
    ("line", "reply"),
    [
        ("subscribe nope", "unknown topic 'nope' (see 'topics')"),
        ("subscribe kore", "unknown topic 'kore' — did you mean 'korea'?"),
        (
            "subscribe korea tz Mars/Olympus",
            "unknown time zone 'Mars/Olympus': use Area/City, e.g. Europe/Paris",
        ),
        ("subscribe korea digest at 25:00", "bad time '25:00': use HH:MM, 24-hour"),
        ("lookup", "lookup needs words to search for, e.g. lookup summit Hanoi"),
        ("timeline nope", "unknown topic 'nope' (see 'topics')"),
        ("story 999", "no story 999"),
        ("mute 999", "no story 999"),
        ("digest later", "use 'digest now' to get this channel's digest now"),
        ("subscrbe korea", "unknown command 'subscrbe' — did you mean 'subscribe'?"),
    ],
)
async def test_wrong_input_gets_one_line(settings: Settings, session: Session, line: str, reply: str) -> None:
    replies, _, _ = await session(settings, [line])
    assert one_line(replies[0]) == reply


async def test_config_is_synced_and_chat_topics_stay(tmp_path: Path, session: Session) -> None:
    first = make_settings(tmp_path)
    await session(first, ["topic add chips TSMC"])
    changed = settings_from_mapping(
        {
            "data_dir": str(tmp_path),
            "topics": [{"id": "korea", "name": "Korea talks", "query": "pyongyang"}],
            "sources": [
                {"url": "https://reuters.example/feed", "title": "Reuters World", "poll_interval_s": 60}
            ],
        }
    )
    _, runtime, _ = await session(changed, [])
    topics = {topic.id: topic for topic in await list_topics(runtime.store)}
    assert set(topics) == {"chips", "fed", "korea"}
    assert (topics["korea"].name, topics["korea"].query) == ("Korea talks", "pyongyang")
    [source] = [s.source for s in await list_source_statuses(runtime.store)]
    assert (source.title, source.poll_interval_s) == ("Reuters World", 60)


async def test_a_bad_config_query_is_refused(tmp_path: Path) -> None:
    settings = settings_from_mapping({"data_dir": str(tmp_path), "topics": [{"id": "x", "query": '"open'}]})
    runtime = Runtime(settings, adapters=[ConsoleAdapter(lines=[], output=io.StringIO())])
    with pytest.raises(ConfigError, match=r"topics\.0\.query \(x\): position "):
        await runtime.start()
    assert runtime.adapters == []


async def test_stop_drains_the_jobs_then_stops_adapters(settings: Settings, session: Session) -> None:
    _, runtime, jobs = await session(settings, ["topics"])
    assert jobs.context is not None and set(jobs.context.adapters) == {runtime.adapters[0].platform}
    await runtime.stop()
    assert jobs.stopped == [True] and runtime.adapters == []


async def test_the_console_is_the_adapter_when_none_is_enabled(tmp_path: Path) -> None:
    from bot.chat import AdapterContext
    from bot.config import Secrets
    from bot.models import Platform
    from bot.store.ports import adapter_ports

    store = await open_store(f"sqlite+aiosqlite:///{tmp_path / 'a.db'}")
    try:
        clock = ManualClock(NOW)
        settings = make_settings(tmp_path)
        assert enabled_platforms(settings) == [Platform.CONSOLE]
        context = AdapterContext(settings, Secrets(), adapter_ports(store), clock)
        assert [a.platform for a in build_adapters(context)] == [Platform.CONSOLE]
        slack = make_settings(tmp_path, slack={"enabled": True})
        with pytest.raises(ConfigError, match=r"slack\.enabled"):
            build_adapters(AdapterContext(slack, Secrets(), adapter_ports(store), clock), factories={})
    finally:
        await store.close()
