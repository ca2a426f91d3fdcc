"""The typed commands the grammar produces, and the one list of commands that help and hints read."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time

from bot.models import AlertMode


@dataclass(frozen=True, slots=True)
class Subscribe:
    """Options left out (None) keep the channel's current value, or the default for a new subscription."""

    topic_id: str
    mode: AlertMode | None = None
    digest_at: time | None = None
    timezone: str | None = None
    min_sources: int | None = None
    threaded: bool | None = None
    broadcast: bool | None = None
    webhook: bool | None = None
    new_story_sources: int | None = None


@dataclass(frozen=True, slots=True)
class Unsubscribe:
    topic_id: str


@dataclass(frozen=True, slots=True)
class ListSubscriptions:
    pass


@dataclass(frozen=True, slots=True)
class ListTopics:
    pass


@dataclass(frozen=True, slots=True)
class AddTopic:
    topic_id: str
    query: str


@dataclass(frozen=True, slots=True)
class RemoveTopic:
    topic_id: str


@dataclass(frozen=True, slots=True)
class Lookup:
    words: str


@dataclass(frozen=True, slots=True)
class TopicTimeline:
    topic_id: str


@dataclass(frozen=True, slots=True)
class StoryTimeline:
    story_id: int


@dataclass(frozen=True, slots=True)
class ShowStory:
    story_id: int


@dataclass(frozen=True, slots=True)
class Mute:
    story_id: int


@dataclass(frozen=True, slots=True)
class Unmute:
    story_id: int


@dataclass(frozen=True, slots=True)
class DigestNow:
    pass


@dataclass(frozen=True, slots=True)
class ListSources:
    pass


@dataclass(frozen=True, slots=True)
class Help:
    command: str | None = None


Command = (
    Subscribe
    | Unsubscribe
    | ListSubscriptions
    | ListTopics
    | AddTopic
    | RemoveTopic
    | Lookup
    | TopicTimeline
    | StoryTimeline
    | ShowStory
    | Mute
    | Unmute
    | DigestNow
    | ListSources
    | Help
)


@dataclass(frozen=True, slots=True)
class CommandSpec:
    name: str
    usage: str
    summary: str
    example: str


SPECS: tuple[CommandSpec, ...] = (
    CommandSpec(
        "subscribe",
        "subscribe <topic> [instant|digest|both] [at HH:MM] [tz Area/City] [min-sources N]"
        " [new-story-sources N] [threaded|unthreaded] [broadcast|quiet] [webhook|no-webhook]",
        "Follow a topic in this channel; options left out keep their current value.",
        "subscribe korea-diplomacy digest at 08:00 tz Asia/Seoul",
    ),
    CommandSpec(
        "unsubscribe", "unsubscribe <topic>", "Stop following a topic here.", "unsubscribe korea-diplomacy"
    ),
    CommandSpec("list", "list", "This channel's subscriptions.", "list"),
    CommandSpec("topics", "topics", "The topics you can subscribe to.", "topics"),
    CommandSpec(
        "topic",
        "topic add <id> <query…> | topic remove <id>",
        'Add a topic (keywords, "phrases", OR, NOT) or remove one.',
        'topic add chips "TSMC" OR semiconductor NOT stocks',
    ),
    CommandSpec("lookup", "lookup <words…>", "Search recent developments.", "lookup summit Hanoi"),
    CommandSpec(
        "timeline",
        "timeline <topic|story>",
        "The latest developments of a topic or a story (a story is its number).",
        "timeline 12",
    ),
    CommandSpec("story", "story <id>", "A story: when it started, its latest developments.", "story 12"),
    CommandSpec("mute", "mute <story>", "Stop alerts about one story in this channel.", "mute 12"),
    CommandSpec("unmute", "unmute <story>", "Alert about a muted story again.", "unmute 12"),
    CommandSpec("digest", "digest now", "Send this channel's digest now.", "digest now"),
    CommandSpec("sources", "sources", "The feeds the bot reads and their health.", "sources"),
    CommandSpec("help", "help [command]", "This list, or one command in detail.", "help subscribe"),
)
NAMES: tuple[str, ...] = tuple(spec.name for spec in SPECS)


def spec_for(name: str) -> CommandSpec | None:
    return next((spec for spec in SPECS if spec.name == name), None)
