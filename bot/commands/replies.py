"""Shared pieces of command replies: private and public messages, development sections, lists."""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass

from bot.commands.request import CommandError, CommandRequest
from bot.commands.services import CommandServices
from bot.messages.alerts import source_links
from bot.messages.text import clip, format_local, plural
from bot.models import Button, Message, Section
from bot.views import DevelopmentView

MAX_LINES = 30
LINE_CAP = 200


@dataclass(frozen=True, slots=True)
class Context:
    request: CommandRequest
    services: CommandServices


def private(
    text: str, *sections: Section, title: str | None = None, buttons: tuple[Button, ...] = ()
) -> Message:
    """A reply only the caller sees."""
    return Message(text=text, title=title, sections=sections, buttons=buttons, ephemeral=True)


def public(text: str) -> Message:
    """A reply the channel sees: for changes to what the channel receives."""
    return Message(text=text)


def lines_section(lines: Sequence[str], *, heading: str | None = None) -> Section:
    """Up to MAX_LINES one-line entries, the rest counted."""
    shown = [clip(line, LINE_CAP) for line in lines[:MAX_LINES]]
    if len(lines) > MAX_LINES:
        shown.append(f"and {len(lines) - MAX_LINES} more")
    return Section(text="\n".join(shown), heading=heading)


def development_section(view: DevelopmentView, timezone: str) -> Section:
    parts = [
        format_local(view.first_seen, timezone),
        plural(max(view.source_count, len(view.sources)), "source"),
    ]
    if view.story_id is not None:
        parts.append(clip(f"story {view.story_id}: {view.story_title}", LINE_CAP))
    return Section(
        heading=clip(view.headline, 300),
        text=clip(view.what_is_new, 600),
        links=source_links(view.sources, limit=3),
        context=" · ".join(parts),
    )


async def channel_timezone(ctx: Context, topic_id: str | None = None) -> str:
    """The zone the channel chose for this topic (else for any topic), so times read as in its alerts."""
    subscriptions = await ctx.services.list_subscriptions(ctx.request.channel_destination)
    for subscription in subscriptions:
        if subscription.topic_id == topic_id:
            return subscription.timezone
    return subscriptions[0].timezone if subscriptions else "UTC"


async def unknown_topic(ctx: Context, topic_id: str) -> CommandError:
    ids = [topic.id for topic in await ctx.services.list_topics()]
    close = difflib.get_close_matches(topic_id, ids, n=1, cutoff=0.6)
    if close:
        return CommandError(f"unknown topic '{topic_id}' — did you mean '{close[0]}'?")
    return CommandError(f"unknown topic '{topic_id}' (see 'topics')")
