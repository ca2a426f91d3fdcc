"""Cleaning strings from feeds where they enter (every parsed field) and again for the plain text that
entity decoding makes of them: mojibake repaired, then the cleaning every path shares (bot.text_safety).

A feed may carry anything a str can hold: lone surrogates (which no database can store), terminal
escapes and other C0/C1 controls, bidi overrides that reorder what a reader sees, and megabytes in
one field. What comes out is safe to store, log and hand to any renderer.
"""

from __future__ import annotations

import re
from dataclasses import replace

import ftfy

from bot.ingest.feed import ParsedEntry, ParsedFeed
from bot.text_safety import clean_untrusted

__all__ = ["clean_feed_text", "clean_parsed_feed", "fix_mojibake", "without_surrogates"]

_SURROGATES = re.compile("[\ud800-\udfff]")
# A UTF-8 lead byte read as Latin-1/cp1252 followed by a continuation byte: the mark of mojibake.
_MOJIBAKE = re.compile(
    "[\u0080-\u009f]|[\u00c2-\u00f4][\u0080-\u00bf\u0152\u0153\u0160\u0161\u0178\u017d\u017e\u0192"
    "\u02c6\u02dc\u2013\u2014\u2018-\u201e\u2020-\u2022\u2026\u2030\u2039\u203a\u20ac\u2122]"
)
_FTFY = ftfy.TextFixerConfig(
    unescape_html=False,
    uncurl_quotes=False,
    fix_character_width=False,
    fix_latin_ligatures=False,
    fix_line_breaks=False,
    explain=False,
)

# Caps on raw (HTML) fields, far above what normalising keeps, so one field cannot cost megabytes of work.
MAX_RAW_TITLE_CHARS = 8_000
MAX_RAW_TEXT_CHARS = 1_000_000
# A longer link is no usable article URL (and would not fit PostgreSQL's index on it): it is dropped.
MAX_LINK_CHARS = 2_048
MAX_GUID_CHARS = 8_000
MAX_LANGUAGE_CHARS = 64


def clean_feed_text(text: str, limit: int = MAX_RAW_TITLE_CHARS) -> str:
    """`text` capped at `limit`, mojibake repaired, then without escape sequences, surrogates, controls
    (but tab and newlines), bidi and invisible format characters."""
    # Surrogates first (ftfy cannot encode them); C1 controls only after ftfy read them as mojibake.
    return clean_untrusted(fix_mojibake(without_surrogates(text[:limit])))


def without_surrogates(text: str) -> str:
    """`text` without lone surrogates, which no database or encoder accepts."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return _SURROGATES.sub("", text)
    return text


def fix_mojibake(text: str) -> str:
    """Repair double-encoded UTF-8 ("Kennedyâ€™s") and stray C1 controls; other text is untouched."""
    if text.isascii() or not _MOJIBAKE.search(text):
        return text
    return ftfy.fix_text(text, _FTFY)


def clean_parsed_feed(feed: ParsedFeed) -> ParsedFeed:
    """Every string of a parsed document cleaned and capped: what the parsers hand to the rest of the bot."""
    return replace(
        feed,
        title=clean_feed_text(feed.title, MAX_RAW_TITLE_CHARS),
        link=_link(feed.link),
        entries=[_entry(entry) for entry in feed.entries],
        language=clean_feed_text(feed.language, MAX_LANGUAGE_CHARS),
        warning=clean_feed_text(feed.warning, 300),
        base_url=_link(feed.base_url),
    )


def _entry(entry: ParsedEntry) -> ParsedEntry:
    return ParsedEntry(
        title=clean_feed_text(entry.title, MAX_RAW_TITLE_CHARS),
        link=_link(entry.link),
        guid=clean_feed_text(entry.guid, MAX_GUID_CHARS),
        summary=_body(entry.summary),
        content=_body(entry.content),
        published=entry.published,
        language=clean_feed_text(entry.language, MAX_LANGUAGE_CHARS),
    )


def _body(html: str) -> str:
    # Long HTML: capped and safe to encode here; normalise.clean_text repairs and cleans the text it
    # keeps, after entity decoding (which can make any character) and on its prefix only.
    return without_surrogates(html[:MAX_RAW_TEXT_CHARS])


def _link(link: str) -> str:
    return "" if len(link) > MAX_LINK_CHARS else clean_feed_text(link, MAX_LINK_CHARS)
