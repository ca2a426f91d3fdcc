"""Handlers for reading and muting stories: lookup, timeline, story, mute, unmute."""

from __future__ import annotations

from bot.commands.replies import (
    Context,
    channel_timezone,
    development_section,
    private,
    public,
    unknown_topic,
)
from bot.commands.request import CommandError
from bot.commands.syntax import Lookup, Mute, ShowStory, StoryTimeline, TopicTimeline, Unmute
from bot.messages.alerts import MUTE_STORY, OPEN_TIMELINE
from bot.messages.text import clip, format_local, plural
from bot.models import Button, Message, Section, Story

LOOKUP_LIMIT = 8
TIMELINE_LIMIT = 10
STORY_LIMIT = 5


async def lookup(command: Lookup, ctx: Context) -> Message:
    found = await ctx.services.search(command.words, LOOKUP_LIMIT)
    shown = clip(command.words, 60)
    if not found:
        return private(f"No developments match '{shown}'.")
    timezone = await channel_timezone(ctx)
    sections = tuple(development_section(view, timezone) for view in found[:LOOKUP_LIMIT])
    return private(f"{plural(len(sections), 'development')} matching '{shown}'.", *sections, title="Lookup")


async def timeline(command: TopicTimeline | StoryTimeline, ctx: Context) -> Message:
    if isinstance(command, TopicTimeline):
        found = await ctx.services.topic_timeline(command.topic_id, TIMELINE_LIMIT)
        if found is None:
            raise await unknown_topic(ctx, command.topic_id)
        timezone = await channel_timezone(ctx, command.topic_id)
    else:
        found = await ctx.services.story_timeline(command.story_id, TIMELINE_LIMIT)
        if found is None:
            raise CommandError(f"no story {command.story_id}")
        timezone = await channel_timezone(ctx)
    title = clip(f"Timeline: {found.title}", 200)
    if not found.developments:
        return private(f"{title}: no developments yet.")
    sections = [development_section(view, timezone) for view in found.developments[:TIMELINE_LIMIT]]
    earlier = found.total - len(sections)
    if earlier > 0:
        sections.append(Section(context=f"and {plural(earlier, 'earlier development')}"))
    return private(f"{title} ({plural(found.total, 'development')})", *sections, title=title)


async def show_story(command: ShowStory, ctx: Context) -> Message:
    details = await ctx.services.story_details(command.story_id, STORY_LIMIT)
    if details is None:
        raise CommandError(f"no story {command.story_id}")
    story = details.story
    timezone = await channel_timezone(ctx, story.topic_id)
    summary = Section(
        text=(
            f"Topic {clip(details.topic_name, 100) or story.topic_id} · "
            f"{plural(story.development_count, 'development')} · "
            f"since {format_local(story.first_seen, timezone)} · "
            f"latest {format_local(story.last_seen, timezone)}"
        )
    )
    sections = (summary, *(development_section(view, timezone) for view in details.developments))
    value = str(story.id)
    buttons = (Button("Mute this story", MUTE_STORY, value), Button("Open timeline", OPEN_TIMELINE, value))
    title = clip(f"Story {story.id}: {story.title}", 200)
    return private(title, *sections, title=title, buttons=buttons)


async def mute(command: Mute | Unmute, ctx: Context) -> Message:
    story = await _story(ctx, command.story_id)
    destination = ctx.request.channel_destination
    name = clip(story.title, 120)
    if isinstance(command, Mute):
        if not await ctx.services.mute_story(destination, story.id):
            return private(f"Story {story.id} ({name}) is already muted here.")
        return public(f"Muted story {story.id} ({name}) in this channel; undo with 'unmute {story.id}'.")
    if not await ctx.services.unmute_story(destination, story.id):
        return private(f"Story {story.id} ({name}) is not muted here.")
    return public(f"Story {story.id} ({name}) is unmuted: its alerts come here again.")


async def _story(ctx: Context, story_id: int) -> Story:
    story = await ctx.services.get_story(story_id)
    if story is None:
        raise CommandError(f"no story {story_id}")
    return story
