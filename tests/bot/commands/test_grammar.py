"""The command grammar: every command, and every usage error as the one line users see."""

from __future__ import annotations

from datetime import time

import pytest

from bot.commands import UsageError, parse
from bot.commands.syntax import (
    SPECS,
    AddTopic,
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


@pytest.mark.parametrize(
    ("text", "command"),
    [
        ("subscribe korea", Subscribe("korea")),
        (
            "subscribe korea-diplomacy digest at 08:00 tz Asia/Seoul",
            Subscribe("korea-diplomacy", AlertMode.DIGEST, time(8, 0), "Asia/Seoul"),
        ),
        (
            "SUBSCRIBE Korea both at 7:30 tz asia/seoul min-sources 3 threaded",
            Subscribe("korea", AlertMode.BOTH, time(7, 30), "Asia/Seoul", 3, True),
        ),
        ("subscribe korea threaded instant", Subscribe("korea", AlertMode.INSTANT, threaded=True)),
        ("subscribe korea unthreaded", Subscribe("korea", threaded=False)),
        ("subscribe korea at 23:59", Subscribe("korea", digest_at=time(23, 59))),
        ("subscribe korea tz utc", Subscribe("korea", timezone="UTC")),
        ("subscribe korea min_sources 50", Subscribe("korea", min_sources=50)),
        ("unsubscribe korea", Unsubscribe("korea")),
        ("list", ListSubscriptions()),
        ("topics", ListTopics()),
        ('topic add chips "TSMC"  OR semiconductor', AddTopic("chips", '"TSMC"  OR semiconductor')),
        ("topic add chips “TSMC” OR chips", AddTopic("chips", '"TSMC" OR chips')),
        ("topic remove chips", RemoveTopic("chips")),
        ("lookup summit  Hanoi", Lookup("summit  Hanoi")),
        ("timeline korea", TopicTimeline("korea")),
        ("timeline 12", StoryTimeline(12)),
        ("timeline #12", StoryTimeline(12)),
        ("timeline story 12", StoryTimeline(12)),
        ("timeline topic 2024", TopicTimeline("2024")),
        ("story 12", ShowStory(12)),
        ("story #7", ShowStory(7)),
        ("mute 12", Mute(12)),
        ("unmute 12", Unmute(12)),
        ("digest now", DigestNow()),
        ("Digest NOW", DigestNow()),
        ("sources", ListSources()),
        ("help", Help()),
        ("help subscribe", Help("subscribe")),
        ("help /topic", Help("topic")),
        ("", Help()),
        ("   ", Help()),
        ("\u00a0list\u00a0", ListSubscriptions()),
    ],
)
def test_commands_parse(text: str, command: object) -> None:
    assert parse(text) == command


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("subscrib korea", "unknown command 'subscrib' — did you mean 'subscribe'?"),
        ("frobnicate", "unknown command 'frobnicate' (try 'help')"),
        ("x" * 60, f"unknown command '{'x' * 39}…' (try 'help')"),
        ("subscribe", "subscribe needs a topic, e.g. subscribe korea-diplomacy (see 'topics')"),
        ("subscribe Korea!", "bad topic id 'Korea!': use lowercase letters, digits, '-' and '_'"),
        ("subscribe korea at 25:00", "bad time '25:00': use HH:MM, 24-hour"),
        ("subscribe korea at 8h", "bad time '8h': use HH:MM, 24-hour"),
        ("subscribe korea at 08:60", "bad time '08:60': use HH:MM, 24-hour"),
        ("subscribe korea at", "'at' needs a time, e.g. at 08:00"),
        ("subscribe korea tz Asia/Seol", "unknown time zone 'Asia/Seol' (try Asia/Seoul)"),
        ("subscribe korea tz Nowhere", "unknown time zone 'Nowhere': use Area/City, e.g. Europe/Paris"),
        (
            "subscribe korea tz ../../etc/passwd",
            "unknown time zone '../../etc/passwd': use Area/City, e.g. Europe/Paris",
        ),
        ("subscribe korea tz", "'tz' needs a time zone, e.g. tz Europe/Paris"),
        ("subscribe korea min-sources", "'min-sources' needs a number, e.g. min-sources 2"),
        ("subscribe korea min-sources 0", "min-sources must be a whole number from 1 to 50, not '0'"),
        ("subscribe korea min-sources two", "min-sources must be a whole number from 1 to 50, not 'two'"),
        ("subscribe korea min-sources 51", "min-sources must be a whole number from 1 to 50, not '51'"),
        ("subscribe korea new-story-sources", "'new-story-sources' needs a number, e.g. new-story-sources 2"),
        (
            "subscribe korea new-story-sources 0",
            "new-story-sources must be a whole number from 1 to 50, not '0'",
        ),
        ("subscribe korea new-story-sources 2 new-story-sources 3", "'new-story-sources' given twice"),
        ("subscribe korea digest both", "give one of instant, digest or both"),
        ("subscribe korea at 08:00 at 09:00", "'at' given twice"),
        ("subscribe korea tz UTC tz UTC", "'tz' given twice"),
        ("subscribe korea min-sources 2 min-sources 3", "'min-sources' given twice"),
        ("subscribe korea threaded unthreaded", "give threaded or unthreaded once"),
        ("subscribe korea broadcast quiet", "give broadcast or quiet once"),
        ("subscribe korea webhook no-webhook", "give webhook or no-webhook once"),
        (
            "subscribe korea instant at 08:00",
            "'at' sets the digest time: use it with digest or both, not instant",
        ),
        (
            "subscribe korea daily",
            "unexpected 'daily' (options: instant|digest|both, at HH:MM, tz Area/City, "
            "min-sources N, new-story-sources N, threaded, broadcast, webhook)",
        ),
        ("unsubscribe", "unsubscribe needs a topic, e.g. unsubscribe korea-diplomacy (see 'list')"),
        ("unsubscribe korea chips", "unexpected 'chips' after the topic"),
        ("list all", "'list' takes no arguments (got 'all')"),
        ("topics x", "'topics' takes no arguments (got 'x')"),
        ("sources x", "'sources' takes no arguments (got 'x')"),
        ("topic", "use 'topic add <id> <query…>' or 'topic remove <id>'"),
        ("topic rename a b", "use 'topic add <id> <query…>' or 'topic remove <id>'"),
        ("topic add", 'topic add needs an id and a query, e.g. topic add chips "TSMC" OR chips'),
        ("topic add chips", "topic add needs a query after 'chips', e.g. \"TSMC\" OR semiconductor"),
        ("topic add 2024 election", "bad topic id '2024': not only digits (numbers name stories)"),
        ("topic add Bad/Id x", "bad topic id 'Bad/Id': use lowercase letters, digits, '-' and '_'"),
        ("topic add chips " + "x" * 501, "query too long (501 characters; at most 500)"),
        ("topic remove", "topic remove needs a topic id, e.g. topic remove chips"),
        ("topic remove chips now", "unexpected 'now' after the topic"),
        ("lookup", "lookup needs words to search for, e.g. lookup summit Hanoi"),
        ("lookup " + "y" * 201, "search too long (201 characters; at most 200)"),
        ("timeline", "timeline needs a topic or a story number, e.g. timeline 12"),
        ("timeline korea chips", "unexpected 'chips' after the topic or story"),
        ("timeline story abc", "bad story id 'abc': use the number shown in alerts, e.g. story 12"),
        ("timeline story 1 2", "unexpected '2' after the story"),
        ("story", "story needs a story number, e.g. story 12"),
        ("story abc", "bad story id 'abc': use the number shown in alerts, e.g. story 12"),
        ("story 0", "bad story id '0': use the number shown in alerts, e.g. story 12"),
        ("story ١٢", "bad story id '١٢': use the number shown in alerts, e.g. story 12"),
        (
            "story 99999999999999999999",
            "bad story id '99999999999999999999': use the number shown in alerts, e.g. story 12",
        ),
        ("story 1 2", "unexpected '2' after the story number"),
        ("mute", "mute needs a story number, e.g. mute 12"),
        ("unmute x", "bad story id 'x': use the number shown in alerts, e.g. story 12"),
        ("digest", "use 'digest now' to get this channel's digest now"),
        ("digest later", "use 'digest now' to get this channel's digest now"),
        ("digest now please", "unexpected 'please' after 'digest now'"),
        ("help subscrib", "unknown command 'subscrib' — did you mean 'subscribe'?"),
        ("help list topics", "unexpected 'topics' after the command name"),
    ],
)
def test_usage_errors_are_one_short_line(text: str, error: str) -> None:
    with pytest.raises(UsageError) as caught:
        parse(text)
    assert caught.value.reply == error
    assert "\n" not in error and len(error) <= 140


def test_every_spec_example_parses() -> None:
    for spec in SPECS:
        parse(spec.example)
