"""Autocomplete for topic, subscription and time-zone options: the core's read-only lookups port.

Discord shows at most 25 suggestions and waits about 3 s for them; a suggestion's name (what people
see) is at most 100 characters, its value (what the command gets) the topic id.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Iterable
from functools import cache

from discord import app_commands

from bot.models import Destination, Topic
from bot.ports import ChoiceLookups
from bot.text_safety import clean_untrusted

MAX_CHOICES = 25
NAME_LIMIT = 100


async def topic_choices(lookups: ChoiceLookups, typed: str) -> list[app_commands.Choice[str]]:
    """Topics whose id or name contains what was typed, those starting with it first."""
    return _choices(await lookups.list_topics(), typed)


async def subscribed_choices(
    lookups: ChoiceLookups, channel: Destination, typed: str
) -> list[app_commands.Choice[str]]:
    """The channel's subscribed topics (what `unsubscribe` can take)."""
    followed = {subscription.topic_id for subscription in await lookups.list_subscriptions(channel)}
    topics = {topic.id: topic for topic in await lookups.list_topics()}
    return _choices([topics.get(topic_id) or Topic(topic_id, topic_id, "") for topic_id in followed], typed)


def timezone_choices(typed: str) -> list[app_commands.Choice[str]]:
    wanted = typed.strip().casefold().replace(" ", "_")
    names = [name for name in _zones() if wanted in name.casefold()]
    names.sort(key=lambda name: (not name.casefold().startswith(wanted), name))
    return [app_commands.Choice(name=name, value=name) for name in names[:MAX_CHOICES]]


def _choices(topics: Iterable[Topic], typed: str) -> list[app_commands.Choice[str]]:
    wanted = typed.strip().casefold()
    found = [
        topic for topic in topics if wanted in topic.id.casefold() or wanted in (topic.name or "").casefold()
    ]
    found.sort(key=lambda topic: (not topic.id.startswith(wanted), topic.id))
    return [app_commands.Choice(name=_label(topic), value=topic.id) for topic in found[:MAX_CHOICES]]


def _label(topic: Topic) -> str:
    # Topic names come from chat members: one line, no controls or bidi characters in Discord's menu.
    name = clean_untrusted(topic.name or "", multiline=False).strip()
    label = f"{topic.id} — {name}" if name and name != topic.id else topic.id
    return label if len(label) <= NAME_LIMIT else label[: NAME_LIMIT - 1] + "…"


@cache
def _zones() -> tuple[str, ...]:
    # Area/City names only: the short aliases (EST, GMT+3) are what people should not choose.
    return tuple(sorted(name for name in zoneinfo.available_timezones() if "/" in name or name == "UTC"))
