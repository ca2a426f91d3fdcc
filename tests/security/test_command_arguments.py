"""Chat command arguments as an attacker types them, through the real grammar, permissions and services.

Every reply is one short private line or a normal answer: never "something went wrong", never an
exception, whatever the argument (huge numbers, 100 KB, NUL, newlines, bidi, mentions, markup, search
syntax for FTS5 or tsquery). Real stores on SQLite and PostgreSQL.
"""

from __future__ import annotations

import random

import pytest

from bot.clock import ManualClock
from bot.commands import AccessPolicy, CommandRequest, UsageError, handle
from bot.commands.grammar import parse, parse_time, parse_topic_id
from bot.config import Settings
from bot.models import Message, Platform
from bot.services import StoreCommandServices
from bot.store import Store
from tests.bot.services.seed import seed_news

BIG = "9" * 5000
HUGE_TEXT = "a" * 100_000
# Arguments of each kind that must end in a usage error, never an exception.
REFUSED = [
    f"story {BIG}",
    f"mute {BIG}",
    f"unmute #{BIG}",
    f"timeline {BIG}",
    f"timeline story {BIG}",
    f"subscribe korea min-sources {BIG}",
    f"subscribe korea new-story-sources {BIG}",
    "subscribe korea min-sources -1",
    "subscribe korea min-sources ０",
    "subscribe korea at 24:00",
    "subscribe korea at 8",
    "subscribe korea at 08:00:00",
    "subscribe korea tz ../../../etc/passwd",
    "subscribe korea tz Europe/Paris\x00",
    f"subscribe korea tz {HUGE_TEXT}",
    "subscribe korea tz",
    "subscribe <!channel>",
    "subscribe @everyone",
    "subscribe korea\u202e",
    "subscribe \x00",
    f"subscribe {HUGE_TEXT}",
    f"lookup {HUGE_TEXT}",
    f"topic add x {HUGE_TEXT}",
    f"{HUGE_TEXT}",
    "story 0",
    "story -1",
    f"story {2**63}",
]
# Searches written in FTS5 or tsquery syntax, and text that is no syntax at all: each a plain search.
SEARCHES = [
    '"',
    '""',
    "*",
    "korea*",
    "NEAR(korea summit, 2)",
    "korea NOT summit",
    "korea AND OR NOT",
    "title:korea",
    "^korea",
    "{title text}: korea",
    "korea & summit | !trump",
    "korea <-> summit",
    "korea:*",
    "'korea' & 'summit'",
    "(",
    ")",
    "\\",
    "%",
    "_",
    "korea%' OR '1'='1",
    "korea'; DROP TABLE articles; --",
    "\x00",
    "korea\x00summit",
    "korea\nsummit",
    "\u202ekorea",
    "²³ ½ ¼",
    "\u0301\u0301",
    "ǅ ß ﬁ İ",
    "🇰🇷 korea",
    "a" * 200,
    " ".join(["korea"] * 33),
]


@pytest.mark.parametrize("text", REFUSED, ids=lambda t: repr(t[:30]))
def test_hostile_arguments_are_usage_errors(text: str) -> None:
    with pytest.raises(UsageError) as caught:
        parse(text)
    reply = caught.value.reply
    assert len(reply) <= 200 and "\n" not in reply, reply


def request(text: str, *, manager: bool = True) -> CommandRequest:
    return CommandRequest(Platform.SLACK, "T1", "C1", "U1", text, is_channel_manager=manager)


def assert_answered(reply: Message, text: str) -> None:
    assert "something went wrong" not in reply.text, (text[:60], reply.text)


@pytest.fixture
async def services(store: Store) -> StoreCommandServices:
    seeded = await seed_news(store)
    return StoreCommandServices(store, ManualClock(seeded.now), Settings())


async def test_hostile_arguments_get_a_clear_reply(services: StoreCommandServices) -> None:
    for text in REFUSED:
        reply = await handle(request(text), services, access=AccessPolicy(admins=("U1",)))
        assert_answered(reply, text)
        assert reply.ephemeral and len(reply.text) <= 200 and "\n" not in reply.text, (text[:40], reply.text)


async def test_search_syntax_is_plain_words(services: StoreCommandServices) -> None:
    for words in SEARCHES:
        reply = await handle(request(f"lookup {words}"), services)
        assert_answered(reply, words)


async def test_random_unicode_searches(services: StoreCommandServices) -> None:
    rng = random.Random(20251004)
    # Letters, digits, marks and symbols from every plane a chat client can send.
    pool = [chr(c) for c in range(0x20, 0x3000)] + ["🇰🇷", "\U0001f600", "\U000e0041"]
    for _ in range(200):
        words = "".join(rng.choice(pool) for _ in range(rng.randint(1, 60)))
        reply = await handle(request(f"lookup {words}"), services)
        assert_answered(reply, words)


@pytest.mark.parametrize("raw", ["korea\n", "korea\r\n", "korea\x00"])
def test_a_topic_id_is_matched_whole(raw: str) -> None:
    # `$` also matches before a final newline: ids reach the grammar from adapters, not only from tokens.
    with pytest.raises(UsageError):
        parse_topic_id(raw)
    with pytest.raises(UsageError):
        parse_time("08:00" + raw[5:])
