"""Regex topics (`re:/.../`): the pattern means what its author wrote, and a costly one is refused with why.

Both ways a topic arrives, a `[[topics]]` entry in the config file and `topic add` in chat, go through
the engine's parser and refuse a pattern with the same reason.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.clock import ManualClock
from bot.commands import AccessPolicy, CommandRequest, handle
from bot.config import ConfigError, Settings, load_settings
from bot.models import Platform, Topic
from bot.services import StoreCommandServices
from bot.store import open_store
from bot.store.topics import list_topics
from bot.stories.patterns import (
    MAX_PROGRAM_SIZE,
    MAX_REPEAT,
    MAX_SCAN_CHARS,
    MAX_WIDTH,
    compile_pattern,
    fold_literals,
    pattern_width,
)
from bot.stories.query import QueryError, QueryText, parse_query
from bot.stories.text import fold, tokenize
from bot.stories.topics import TopicMatcher

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def doc(raw: str) -> QueryText:
    return QueryText.of(tokenize(raw), [], "Reuters", raw)


def matches(pattern: str, raw: str) -> bool:
    return parse_query(f"re:/{pattern}/").matches(doc(raw))


# Lower-casing the pattern turned each upper-case escape into its opposite; each row failed so before.
@pytest.mark.parametrize(
    ("pattern", "text", "expected"),
    [
        (r"x\Dy", "x-y", True),
        (r"x\Dy", "x5y", False),
        (r"x\Sy", "x-y", True),
        (r"x\Sy", "x y", False),
        (r"x\Wy", "x-y", True),
        (r"x\Wy", "xay", False),
        (r"b\Bc", "abc", True),
        (r"b\Bc", "ab c", False),
        (r"x\PLy", "x1y", True),
        (r"x\PLy", "xay", False),
        (r"\pN{3}", "route 66 closed", False),
        (r"\pN{3}", "flight 370", True),
        (r"x\P{Greek}y", "x-y", True),
    ],
)
def test_upper_case_escapes_keep_their_meaning(pattern: str, text: str, expected: bool) -> None:
    assert matches(pattern, text) is expected


@pytest.mark.parametrize(
    ("pattern", "text"),
    [
        ("NATO", "nato summit opens"),
        ("nato", "NATO SUMMIT OPENS"),
        (r"Hwasong-1[5-9]\b", "North Korea tests HWASONG-17 missile"),
        ("café", "Cafe owners protest"),
        ("cafe", "Café owners protest"),
        ("straße", "Strasse closed"),
        ("ＮＡＴＯ", "Nato summit"),
        ("a（b", "a(b"),
        ("x[ü]y", "xuy"),
        (r"(?P<Year>\d{4}) election", "the 2024 election"),
    ],
)
def test_case_and_accents_are_folded_by_flag_not_by_rewriting_the_pattern(pattern: str, text: str) -> None:
    assert matches(pattern, text)


@pytest.mark.parametrize(
    ("pattern", "reason"),
    [
        (r"(?:\w+\s){1000}", f"pattern too large: repetition {{1000}} exceeds {MAX_REPEAT}"),
        (r"x{101}", f"pattern too large: repetition {{101}} exceeds {MAX_REPEAT}"),
        (r"x{2,101}", f"pattern too large: repetition {{2,101}} exceeds {MAX_REPEAT}"),
        (r"x{1000,}", f"pattern too large: repetition {{1000,}} exceeds {MAX_REPEAT}"),
        (r"x{99999999999999}", "pattern too large: repetition {99999999999999} exceeds"),
        (r"(.*){1000}", "pattern too large: repetition {1000}"),
        (
            r"(?:(?:\w+\s){20}){20}",
            f"pattern too large: it spans about 800 characters, the limit is {MAX_WIDTH}",
        ),
        (r"\w{100}\w{100}\w{100}", f"it spans about 300 characters, the limit is {MAX_WIDTH}"),
        (r"(?:.*a.{99}){3}0", f"it spans about 304 characters, the limit is {MAX_WIDTH}"),
        (r"(?:\pL+\s){20}", f"RE2 instructions, the limit is {MAX_PROGRAM_SIZE}"),
    ],
)
def test_costly_patterns_are_refused_saying_why(pattern: str, reason: str) -> None:
    with pytest.raises(QueryError) as info:
        parse_query(f"korea re:/{pattern}/")
    assert reason in str(info.value)
    assert info.value.position == len("korea ") + 1


@pytest.mark.parametrize(
    "pattern",
    [
        r"x{100}",
        r"x{3,100}",
        r"a{b",
        r"x{,5000}",
        r"[{1000}]",
        r"\{1000}",
        r"\Q{1000}\E",
        r"(?:\w+\s){100}",
        r"\pL+ \pL+",
        r"[\p{Han}]{2,8}",
        r".{0,40}strike.{0,40}",
    ],
)
def test_patterns_within_the_bounds_are_accepted(pattern: str) -> None:
    parse_query(f"re:/{pattern}/")


def test_only_the_first_scan_chars_are_searched() -> None:
    early = "needle " + "x " * MAX_SCAN_CHARS
    late = "x " * MAX_SCAN_CHARS + " needle"
    assert matches("needle", early)
    assert not matches("needle", late)


CONFIGURED = '[[topics]]\nid = "words"\nquery = "re:/(?:\\\\w+\\\\s){1000}/"\n'


async def test_config_and_topic_add_refuse_a_pattern_with_the_same_reason(tmp_path: Path) -> None:
    path = tmp_path / "storywatch.toml"
    path.write_text(CONFIGURED, encoding="utf-8")
    with pytest.raises(ConfigError) as from_file:
        load_settings(path, env={})
    reason = f"position 1: pattern too large: repetition {{1000}} exceeds {MAX_REPEAT}"
    assert str(from_file.value) == f"{path}: topics.0.query (words): {reason}"
    store = await open_store(f"sqlite+aiosqlite:///{tmp_path / 'data' / 'storywatch.sqlite'}")
    try:
        services = StoreCommandServices(store, ManualClock(T0), Settings(data_dir=tmp_path / "data"))
        admin = CommandRequest(
            platform=Platform.SLACK,
            workspace="T1",
            channel="C1",
            user="U1",
            text=r"topic add words re:/(?:\w+\s){1000}/",
            is_channel_manager=True,
        )
        reply = await handle(admin, services, access=AccessPolicy(admins=("U1",)))
        assert reply.text == f"bad query: {reason}"
        assert await list_topics(store) == []
    finally:
        await store.close()


def test_a_stored_topic_whose_pattern_is_now_refused_leaves_the_others_running() -> None:
    topics = [
        Topic(id="old", name="old", query=r"re:/(?:\w+\s){1000}/"),
        Topic(id="korea", name="Korea", query="re:/pyongyang/"),
    ]
    matcher = TopicMatcher(topics)
    assert set(matcher.states) == {"korea"}


_SYNTAX = st.sampled_from([*"\\.+*?()|[]{}^$-,:0123456789", r"\d", r"\W", r"\pL", "(?:", "(?i)", "{1000}"])
_PATTERN = st.lists(st.one_of(_SYNTAX, st.characters(codec="utf-8")), max_size=40).map("".join)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pattern=_PATTERN, text=st.text(max_size=200))
def test_any_pattern_compiles_within_bounds_or_is_refused_cleanly(pattern: str, text: str) -> None:
    try:
        node = parse_query(f"re:/{pattern}/")
    except QueryError as exc:
        assert str(exc).startswith("position ") and "\n" not in str(exc)
        return
    for leaf in node.leaves():
        if leaf.kind == "regex":
            assert max(leaf.pattern.programsize, leaf.pattern.reverseprogramsize) <= MAX_PROGRAM_SIZE
            assert pattern_width(leaf.text) <= MAX_WIDTH
    node.matches(doc(text))


_LETTERS = st.characters(categories=["Lu", "Ll", "Lt", "Lo", "Nd"], codec="utf-8")


@settings(max_examples=300, deadline=None)
@given(word=st.text(_LETTERS, min_size=1, max_size=30))
def test_a_literal_word_finds_itself_whatever_its_script_or_case(word: str) -> None:
    assert matches(word, f"said {word} today")
    if fold(word.upper()) == fold(word):  # not so for a few letters: Turkish 'ı' upper-cases to 'I'
        assert matches(word.upper(), f"said {word} today")


@given(pattern=st.text(st.characters(codec="ascii"), max_size=60))
def test_an_ascii_pattern_is_compiled_exactly_as_written(pattern: str) -> None:
    assert fold_literals(pattern) == pattern


@settings(max_examples=300, deadline=None)
@given(chars=st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), min_size=1, max_size=20))
def test_folded_literals_never_become_syntax(chars: str) -> None:
    # Any run of non-syntax characters, folded, is still a plain literal: it finds its own folded text.
    literal = "".join(ch for ch in chars if ch.isascii() is False or ch.isalnum())
    if not literal or not fold(literal).strip():
        return
    assert compile_pattern(literal).search(fold(literal)) is not None, fold_literals(literal)
