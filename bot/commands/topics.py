"""Handlers for what the bot watches: topics, topic add, topic remove, sources."""

from __future__ import annotations

from bot.commands.replies import Context, lines_section, private, public, unknown_topic
from bot.commands.request import CommandError
from bot.commands.syntax import AddTopic, ListSources, ListTopics, RemoveTopic
from bot.messages.text import format_local, plural
from bot.models import Message, Source, Topic


async def list_topics(command: ListTopics, ctx: Context) -> Message:
    topics = sorted(await ctx.services.list_topics(), key=lambda topic: topic.id)
    if not topics:
        return private("No topics yet: add one with 'topic add <id> <query…>'.")
    followed = {
        sub.topic_id for sub in await ctx.services.list_subscriptions(ctx.request.channel_destination)
    }
    lines = [
        f"{topic.id} ({topic.name or topic.id}): {topic.query}"
        + (" · followed here" if topic.id in followed else "")
        for topic in topics
    ]
    return private(f"{plural(len(topics), 'topic')} to follow.", lines_section(lines), title="Topics")


async def add_topic(command: AddTopic, ctx: Context) -> Message:
    problem = ctx.services.validate_query(command.query)
    if problem:
        raise CommandError(f"bad query: {problem}")
    if not await ctx.services.add_topic(
        Topic(id=command.topic_id, name=command.topic_id, query=command.query)
    ):
        raise CommandError(f"topic '{command.topic_id}' exists already (see 'topics')")
    return public(
        f"Added topic {command.topic_id}: {command.query} (follow it with 'subscribe {command.topic_id}')."
    )


async def remove_topic(command: RemoveTopic, ctx: Context) -> Message:
    ended = await ctx.services.remove_topic(command.topic_id)
    if ended is None:
        raise await unknown_topic(ctx, command.topic_id)
    return public(f"Removed topic {command.topic_id} ({plural(ended, 'subscription')} ended with it).")


async def list_sources(command: ListSources, ctx: Context) -> Message:
    sources = sorted(
        await ctx.services.list_sources(), key=lambda source: (source.title or source.url).lower()
    )
    if not sources:
        return private("No sources yet: the operator adds feeds with 'storywatch sources add URL'.")
    unhealthy = sum(1 for source in sources if source.disabled or source.consecutive_failures)
    text = f"{plural(len(sources), 'source')}, {unhealthy} with problems."
    return private(text, lines_section([_source_line(source) for source in sources]), title="Sources")


def _source_line(source: Source) -> str:
    name = f"{source.title} ({source.url})" if source.title else source.url
    if source.disabled:
        return f"✗ {name}: disabled ({source.last_error or 'no reason kept'})"
    polled = (
        f"polled {format_local(source.last_polled_at, 'UTC')}" if source.last_polled_at else "not polled yet"
    )
    if source.consecutive_failures:
        failures = plural(source.consecutive_failures, "failure")
        return f"! {name}: {failures} in a row ({source.last_error or 'no reason kept'}), {polled}"
    return f"✓ {name}: {polled}"
