"""The one command grammar for every platform: text in, a typed command or a one-line UsageError out."""

from __future__ import annotations

import difflib
import re
import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import time
from functools import cache

from bot.commands.request import UsageError
from bot.commands.syntax import (
    NAMES,
    AddTopic,
    Command,
    DigestNow,
    Help,
    ListSources,
    ListSubscriptions,
    ListTopics,
    Lookup,
    Mute,
    RemoveTopic,
    ShowStory,
    StoryTimeline,
    Subscribe,
    TopicTimeline,
    Unmute,
    Unsubscribe,
)
from bot.models import AlertMode

TOPIC_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
MAX_QUERY = 500
MAX_WORDS = 200
MAX_MIN_SOURCES = 50
_TOKEN = re.compile(r"\S+")
_TIME = re.compile(r"^(\d{1,2}):(\d{2})$")
# Chat clients turn quotes into typographic ones and spaces into no-break ones.
_TYPOGRAPHY = str.maketrans({"“": '"', "”": '"', "„": '"', "‘": "'", "’": "'", "\u00a0": " ", "\u202f": " "})
# The switches' "off" words (unthreaded, quiet, no-webhook) are in `help subscribe`; kept out for length.
_OPTIONS = (
    "instant|digest|both, at HH:MM, tz Area/City, min-sources N, new-story-sources N,"
    " threaded, broadcast, webhook"
)


def parse(text: str) -> Command:
    """The command `text` spells (without the `/story` prefix); empty text asks for help."""
    words = _Words(text.translate(_TYPOGRAPHY).strip())
    if not words.tokens:
        return Help()
    name = words.tokens[0].lower()
    parser = _PARSERS.get(name)
    if parser is None:
        raise UsageError(unknown_command(name))
    return parser(words)


def unknown_command(name: str) -> str:
    close = difflib.get_close_matches(name, NAMES, n=1, cutoff=0.6)
    if close:
        return f"unknown command '{_show(name)}' — did you mean '{close[0]}'?"
    return f"unknown command '{_show(name)}' (try 'help')"


def parse_time(raw: str) -> time:
    match = _TIME.fullmatch(raw)
    if match is None or int(match[1]) > 23 or int(match[2]) > 59:
        raise UsageError(f"bad time '{_show(raw)}': use HH:MM, 24-hour")
    return time(int(match[1]), int(match[2]))


def parse_timezone(raw: str) -> str:
    """The canonical IANA name for `raw` (any letter case), or a UsageError with the closest names."""
    names = _zone_names()
    canonical = names.get(raw.casefold())
    if canonical is not None:
        return canonical
    close = difflib.get_close_matches(raw.casefold(), list(names), n=1, cutoff=0.6)
    if close:
        raise UsageError(f"unknown time zone '{_show(raw)}' (try {names[close[0]]})")
    raise UsageError(f"unknown time zone '{_show(raw)}': use Area/City, e.g. Europe/Paris")


def parse_topic_id(raw: str) -> str:
    topic_id = raw.lower()
    if not TOPIC_ID.fullmatch(topic_id):
        raise UsageError(f"bad topic id '{_show(raw)}': use lowercase letters, digits, '-' and '_'")
    return topic_id


def parse_story_id(raw: str) -> int:
    number = _number(raw.removeprefix("#"))
    if number is None or not 0 < number < 2**63:
        raise UsageError(f"bad story id '{_show(raw)}': use the number shown in alerts, e.g. story 12")
    return number


def _number(raw: str) -> int | None:
    """`raw` as a whole number when it is one of at most 19 ASCII digits (int() refuses 4,300 and more)."""
    return int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 19 else None


@cache
def _zone_names() -> dict[str, str]:
    return {name.casefold(): name for name in zoneinfo.available_timezones()}


def _show(raw: str) -> str:
    """User input echoed in an error, kept short."""
    return raw if len(raw) <= 40 else raw[:39] + "…"


@dataclass(frozen=True, slots=True)
class _Words:
    """The command text split on whitespace, keeping where each word starts so free text stays verbatim."""

    text: str

    @property
    def tokens(self) -> list[str]:
        return [match.group() for match in _TOKEN.finditer(self.text)]

    def rest(self, index: int) -> str:
        """The raw text from word `index` on (a query keeps its quotes and spacing)."""
        matches = list(_TOKEN.finditer(self.text))
        return self.text[matches[index].start() :].strip() if index < len(matches) else ""

    def no_more_after(self, index: int, what: str) -> None:
        tokens = self.tokens
        if len(tokens) > index + 1:
            raise UsageError(f"unexpected '{_show(tokens[index + 1])}' after {what}")


def _no_arguments(build: Callable[[], Command]) -> Callable[[_Words], Command]:
    def parse_bare(words: _Words) -> Command:
        tokens = words.tokens
        if len(tokens) > 1:
            raise UsageError(f"'{tokens[0].lower()}' takes no arguments (got '{_show(tokens[1])}')")
        return build()

    return parse_bare


def _subscribe(words: _Words) -> Subscribe:
    tokens = words.tokens
    if len(tokens) < 2:
        raise UsageError("subscribe needs a topic, e.g. subscribe korea-diplomacy (see 'topics')")
    command = Subscribe(parse_topic_id(tokens[1]))
    index = 2
    while index < len(tokens):
        word = tokens[index].lower()
        given = tokens[index + 1] if index + 1 < len(tokens) else None
        if word in ("instant", "digest", "both"):
            _once(command.mode, "give one of instant, digest or both")
            command = replace(command, mode=AlertMode(word))
        elif word == "at":
            _once(command.digest_at, "'at' given twice")
            command = replace(
                command, digest_at=parse_time(_needs(given, "'at' needs a time, e.g. at 08:00"))
            )
            index += 1
        elif word == "tz":
            _once(command.timezone, "'tz' given twice")
            zone = parse_timezone(_needs(given, "'tz' needs a time zone, e.g. tz Europe/Paris"))
            command = replace(command, timezone=zone)
            index += 1
        elif word in ("min-sources", "min_sources"):
            _once(command.min_sources, "'min-sources' given twice")
            count = _min_sources(_needs(given, "'min-sources' needs a number, e.g. min-sources 2"))
            command = replace(command, min_sources=count)
            index += 1
        elif word in ("new-story-sources", "new_story_sources"):
            _once(command.new_story_sources, "'new-story-sources' given twice")
            raw = _needs(given, "'new-story-sources' needs a number, e.g. new-story-sources 2")
            command = replace(command, new_story_sources=_min_sources(raw, "new-story-sources"))
            index += 1
        elif word in ("threaded", "unthreaded"):
            _once(command.threaded, "give threaded or unthreaded once")
            command = replace(command, threaded=word == "threaded")
        elif word in ("broadcast", "quiet"):
            _once(command.broadcast, "give broadcast or quiet once")
            command = replace(command, broadcast=word == "broadcast")
        elif word in ("webhook", "no-webhook", "no_webhook"):
            _once(command.webhook, "give webhook or no-webhook once")
            command = replace(command, webhook=word == "webhook")
        else:
            raise UsageError(f"unexpected '{_show(tokens[index])}' (options: {_OPTIONS})")
        index += 1
    if command.mode is AlertMode.INSTANT and command.digest_at is not None:
        raise UsageError("'at' sets the digest time: use it with digest or both, not instant")
    return command


def _once(current: object, complaint: str) -> None:
    if current is not None:
        raise UsageError(complaint)


def _needs(given: str | None, complaint: str) -> str:
    if given is None:
        raise UsageError(complaint)
    return given


def _min_sources(raw: str, option: str = "min-sources") -> int:
    number = _number(raw)
    if number is None or not 1 <= number <= MAX_MIN_SOURCES:
        limit = MAX_MIN_SOURCES
        raise UsageError(f"{option} must be a whole number from 1 to {limit}, not '{_show(raw)}'")
    return number


def _unsubscribe(words: _Words) -> Unsubscribe:
    tokens = words.tokens
    if len(tokens) < 2:
        raise UsageError("unsubscribe needs a topic, e.g. unsubscribe korea-diplomacy (see 'list')")
    words.no_more_after(1, "the topic")
    return Unsubscribe(parse_topic_id(tokens[1]))


def _topic(words: _Words) -> AddTopic | RemoveTopic:
    tokens = words.tokens
    action = tokens[1].lower() if len(tokens) > 1 else ""
    if action == "add":
        if len(tokens) < 3:
            raise UsageError('topic add needs an id and a query, e.g. topic add chips "TSMC" OR chips')
        topic_id = parse_topic_id(tokens[2])
        if topic_id.isdigit():
            raise UsageError(f"bad topic id '{topic_id}': not only digits (numbers name stories)")
        query = words.rest(3)
        if not query:
            raise UsageError(f"topic add needs a query after '{topic_id}', e.g. \"TSMC\" OR semiconductor")
        if len(query) > MAX_QUERY:
            raise UsageError(f"query too long ({len(query)} characters; at most {MAX_QUERY})")
        return AddTopic(topic_id, query)
    if action == "remove":
        if len(tokens) < 3:
            raise UsageError("topic remove needs a topic id, e.g. topic remove chips")
        words.no_more_after(2, "the topic")
        return RemoveTopic(parse_topic_id(tokens[2]))
    raise UsageError("use 'topic add <id> <query…>' or 'topic remove <id>'")


def _lookup(words: _Words) -> Lookup:
    query = words.rest(1)
    if not query:
        raise UsageError("lookup needs words to search for, e.g. lookup summit Hanoi")
    if len(query) > MAX_WORDS:
        raise UsageError(f"search too long ({len(query)} characters; at most {MAX_WORDS})")
    return Lookup(query)


def _timeline(words: _Words) -> TopicTimeline | StoryTimeline:
    tokens = words.tokens
    if len(tokens) < 2:
        raise UsageError("timeline needs a topic or a story number, e.g. timeline 12")
    kind = tokens[1].lower()
    if kind in ("story", "topic") and len(tokens) > 2:
        words.no_more_after(2, f"the {kind}")
        if kind == "story":
            return StoryTimeline(parse_story_id(tokens[2]))
        return TopicTimeline(parse_topic_id(tokens[2]))
    words.no_more_after(1, "the topic or story")
    if kind.removeprefix("#").isdigit():
        return StoryTimeline(parse_story_id(kind))
    return TopicTimeline(parse_topic_id(tokens[1]))


def _story_command(name: str, build: Callable[[int], Command]) -> Callable[[_Words], Command]:
    def parse_story(words: _Words) -> Command:
        tokens = words.tokens
        if len(tokens) < 2:
            raise UsageError(f"{name} needs a story number, e.g. {name} 12")
        words.no_more_after(1, "the story number")
        return build(parse_story_id(tokens[1]))

    return parse_story


def _digest(words: _Words) -> DigestNow:
    tokens = words.tokens
    if len(tokens) < 2 or tokens[1].lower() != "now":
        raise UsageError("use 'digest now' to get this channel's digest now")
    words.no_more_after(1, "'digest now'")
    return DigestNow()


def _help(words: _Words) -> Help:
    tokens = words.tokens
    if len(tokens) < 2:
        return Help()
    words.no_more_after(1, "the command name")
    name = tokens[1].lower().removeprefix("/")
    if name not in NAMES:
        raise UsageError(unknown_command(name))
    return Help(name)


_PARSERS: dict[str, Callable[[_Words], Command]] = {
    "subscribe": _subscribe,
    "unsubscribe": _unsubscribe,
    "list": _no_arguments(ListSubscriptions),
    "topics": _no_arguments(ListTopics),
    "topic": _topic,
    "lookup": _lookup,
    "timeline": _timeline,
    "story": _story_command("story", ShowStory),
    "mute": _story_command("mute", Mute),
    "unmute": _story_command("unmute", Unmute),
    "digest": _digest,
    "sources": _no_arguments(ListSources),
    "help": _help,
}
