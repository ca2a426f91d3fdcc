"""The topic query language: matching, errors that name a position, and hostile patterns."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from bot.stories.query import QueryError, QueryText, keywords_query, parse_query
from bot.stories.text import tokenize


def doc(title: str, text: str = "", source: str = "Reuters") -> QueryText:
    return QueryText.of(tokenize(title), tokenize(text), source, f"{title}\n{text}")


@pytest.mark.parametrize(
    ("query", "title", "expected"),
    [
        ("summit", "Leaders meet at the summit", True),
        ("summits", "Leaders meet at the summit", True),
        ("fed ecb", "Fed and ECB raise rates", True),
        ("fed ecb", "Fed raises rates", False),
        ("fed OR ecb", "ECB raises rates", True),
        ("fed | ecb", "ECB raises rates", True),
        ('"north korea"', "North Korea fires a missile", True),
        ('"north korea"', "Korea North fires", False),
        ("korea -sport", "Korea wins the sport final", False),
        ("korea NOT sport", "Korea holds talks", True),
        ("(fed OR ecb) AND hike", "ECB hike ahead", True),
        ("(fed OR ecb) AND hike", "ECB holds rates", False),
        ("senor", "Señor Pérez speaks", True),
        ("PÉREZ", "perez speaks", True),
        ("source:reuters fed", "Fed hikes", True),
        ('source:"bbc news" fed', "Fed hikes", False),
        ("re:/hwasong-1[5-9]/", "North Korea tests Hwasong-17", True),
        ("launch", "North Korea launched a rocket", True),
        ("korea", "North Korean troops in Russia", True),
    ],
)
def test_matching(query: str, title: str, expected: bool) -> None:
    assert parse_query(query).matches(doc(title)) is expected


def test_hits_report_where_the_keyword_was_found() -> None:
    node = parse_query(keywords_query(["kim jong un", "summit"]))
    hits = node.hits(doc("Cohen testifies", "while the president met Kim Jong Un at a summit"))
    assert {h.leaf.text for h in hits} == {"kim jong un", "summit"}
    assert not any(h.in_title for h in hits)


def test_keywords_become_an_or_query() -> None:
    assert keywords_query(["north korea", "fed", 'a"b']) == '"north korea" OR fed OR "a b"'


@pytest.mark.parametrize(
    ("query", "position", "reason"),
    [
        ("(fed OR ecb", 1, "never closed"),
        ("fed)", 4, "without '('"),
        ('"north korea', 1, "unterminated quote"),
        ("fed OR", 5, "both sides"),
        ("OR fed", 1, "both sides"),
        ("", 1, "empty query"),
        ("-fed", 1, "only exclusions"),
        ("fed ()", 5, "empty parentheses"),
        ("re:/abc", 1, "unterminated regular expression"),
        ("x re:/(a)\\1/", 3, "bad regular expression"),
        ("x re:/(?=a)/", 3, "bad regular expression"),
        ("source: fed", 8, "needs a name"),
    ],
)
def test_errors_name_the_position(query: str, position: int, reason: str) -> None:
    with pytest.raises(QueryError) as info:
        parse_query(query)
    assert info.value.position == position
    assert reason in str(info.value)
    assert str(info.value).startswith(f"position {position}:")


def test_limits_on_size_and_depth() -> None:
    with pytest.raises(QueryError, match="too deeply nested"):
        parse_query("(" * 100 + "a" + ")" * 100)
    with pytest.raises(QueryError, match="longer than"):
        parse_query("a " * 2000)
    with pytest.raises(QueryError, match="regular expression longer"):
        parse_query("re:/" + "a" * 400 + "/")


@pytest.mark.parametrize("pattern", ["(a+)+$", "(a|aa)*c", "(.*a){12}", "(x+x+)+y", "([a-z]+)*!"])
def test_hostile_patterns_run_in_linear_time(pattern: str) -> None:
    node = parse_query(f"re:/{pattern}/")
    hostile = doc("a" * 50_000 + "b", "x" * 50_000)
    began = time.perf_counter()
    node.matches(hostile)
    assert time.perf_counter() - began < 1.0


def test_user_patterns_never_use_python_re() -> None:
    import bot.stories.query as query_module

    source = Path(query_module.__file__).read_text(encoding="utf-8")
    assert "import re\n" not in source
