"""Normalise what feeds say into Article fields: canonical URLs, plain text, clean titles, sane times.

Feed text is untrusted and messy: HTML in titles, entities, double-encoded UTF-8, dates in the future
or in 1970. Everything here is pure and synchronous; callers run it off the event loop for big batches.
"""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta
from typing import Literal

import ftfy
from selectolax.lexbor import LexborHTMLParser

from bot.ingest.language import guess_language
from bot.ingest.urls import absolute_url, canonical_url, is_http_url

__all__ = [
    "DateSource",
    "absolute_url",
    "canonical_url",
    "clean_text",
    "clean_title",
    "html_to_text",
    "is_http_url",
    "normalise_language",
    "normalise_published",
]

DateSource = Literal["feed", "missing", "future", "too_old"]

EARLIEST = datetime(1995, 1, 1, tzinfo=UTC)
FUTURE_SKEW = timedelta(minutes=15)
MAX_TITLE_CHARS = 500
MAX_TEXT_CHARS = 4000

_DROP_TAGS = ["script", "style", "noscript", "template", "iframe", "object", "svg", "head"]
_BLOCK_TAGS = (
    "address article aside blockquote br dd div dl dt figcaption figure footer h1 h2 h3 h4 h5 h6 "
    "header hr li main nav ol p pre section table td th tr ul"
)
_BLOCK_SELECTOR = _BLOCK_TAGS.replace(" ", ",")
_MARKUP = re.compile(r"<[A-Za-z!/?]|&(#\d+|#[xX][0-9a-fA-F]+|[A-Za-z][A-Za-z0-9]*);?")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe\uffff]")
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


def html_to_text(html: str) -> str:
    """Plain text from an HTML fragment: tags gone, entities decoded, blocks on their own lines."""
    if not html:
        return ""
    if not _MARKUP.search(html):
        return _collapse(html)
    tree = LexborHTMLParser(html)
    tree.strip_tags(_DROP_TAGS)
    for node in tree.css(_BLOCK_SELECTOR):
        node.insert_after("\n")
    root = tree.root
    return _collapse(root.text(separator="") if root is not None else "")


def clean_title(title: str, limit: int = MAX_TITLE_CHARS) -> str:
    """A one-line title: markup removed, mojibake repaired, whitespace collapsed, length capped."""
    return _truncate(html_to_text(fix_mojibake(title)).replace("\n", " "), limit)


def clean_text(html: str, limit: int = MAX_TEXT_CHARS) -> str:
    """Plain article text from summary/content HTML, capped at `limit` characters on a word boundary."""
    # Full posts run to 200 KB of HTML; a prefix almost always holds `limit` characters of text.
    prefix = html[: limit * 4]
    text = html_to_text(fix_mojibake(prefix))
    if len(text) < limit and len(prefix) < len(html):
        text = html_to_text(fix_mojibake(html))
    return _truncate(text, limit)


def fix_mojibake(text: str) -> str:
    """Repair double-encoded UTF-8 ("Kennedyâ€™s") and stray C1 controls; other text is untouched."""
    if text.isascii() or not _MOJIBAKE.search(text):
        return text
    return ftfy.fix_text(text, _FTFY)


def normalise_published(
    parsed: datetime | time.struct_time | None,
    fetched_at: datetime,
    skew: timedelta = FUTURE_SKEW,
) -> tuple[datetime, DateSource]:
    """The article time and where it came from; missing, future or pre-1995 dates become `fetched_at`."""
    if parsed is None:
        return fetched_at, "missing"
    if isinstance(parsed, time.struct_time):
        try:
            parsed = datetime(*parsed[:6], tzinfo=UTC)
        except (ValueError, OverflowError):
            return fetched_at, "missing"
    when = parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    if when > fetched_at + skew:
        return fetched_at, "future"
    if when < EARLIEST:
        return fetched_at, "too_old"
    return when, "feed"


def normalise_language(*tags: str | None, text: str = "") -> str:
    """The primary language subtag ("en-US" -> "en") of the first usable tag, else a guess from `text`."""
    for tag in tags:
        primary = (tag or "").strip().replace("_", "-").split("-")[0].lower()
        if primary.isalpha() and 2 <= len(primary) <= 3:
            return primary
    return guess_language(text) if text else ""


def _collapse(text: str) -> str:
    text = _CONTROL.sub("", text)
    lines = (" ".join(line.split()) for line in text.splitlines())
    return "\n".join(line for line in lines if line)


def _truncate(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space > limit * 0.8:
        cut = cut[:space]
    return cut.rstrip() + "…"
