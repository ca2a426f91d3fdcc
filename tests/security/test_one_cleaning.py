"""Ingest and renderers share one cleaning step: what a feed stores is what a renderer would show.

Before, ingest dropped only the control bytes, so an OSC 52 clipboard write in a title was stored as
visible `]52;c;…` while the renderers removed the whole sequence.
"""

from __future__ import annotations

import pytest

from bot.ingest.clean import clean_feed_text
from bot.ingest.normalise import clean_text, clean_title
from bot.text_safety import clean_untrusted

SEQUENCES = [
    ("Title \x1b]52;c;aGVsbG8=\x07 end", "Title end"),
    ("Title \x1b]52;c;aGVsbG8=\x1b\\ end", "Title end"),
    ("Clear \x1b[2J\x1b[H screen", "Clear screen"),
    ("Name \x1b]0;pwned\x07 here", "Name here"),
    ("Link \x1b]8;;https://evil.example/\x07click\x1b]8;;\x07 here", "Link click here"),
    ("Tail \x1b]52;c;unterminated payload", "Tail"),
]


@pytest.mark.parametrize(("raw", "expected"), SEQUENCES)
def test_an_ascii_title_loses_the_whole_sequence(raw: str, expected: str) -> None:
    assert clean_title(clean_feed_text(raw)) == expected
    assert " ".join(clean_untrusted(raw).split()) == expected


@pytest.mark.parametrize(("raw", "expected"), SEQUENCES)
def test_character_references_clean_the_same_way(raw: str, expected: str) -> None:
    escaped = "".join(f"&#x{ord(c):x};" if ord(c) < 0x20 else c for c in raw)
    assert clean_text(f"<p>{escaped}</p>") == expected
    assert clean_title(escaped) == expected


def test_bodies_keep_their_lines_and_tabs() -> None:
    raw = "One\r\nTwo\u2028Three\tcolumn \x1b[31mred\x1b[0m"
    assert clean_feed_text(raw, 1000) == "One\nTwo\nThree\tcolumn red"
