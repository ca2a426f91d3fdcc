"""Normalise what feeds say into Article fields: canonical URLs, plain text, clean titles, sane times.

Feed text is untrusted and messy: HTML in titles, entities, double-encoded UTF-8, dates in the future
or in 1970. Everything here is pure and synchronous; callers run it off the event loop for big batches.
"""

from __future__ import annotations

import html
import re
import time
from datetime import UTC, datetime, timedelta
from typing import Literal

from selectolax.lexbor import LexborHTMLParser

from bot.ingest.clean import fix_mojibake
from bot.ingest.language import guess_language
from bot.ingest.urls import absolute_url, canonical_url, is_http_url
from bot.text_safety import clean_untrusted

__all__ = [
    "MAX_TAGS",
    "DateSource",
    "absolute_url",
    "canonical_url",
    "clean_text",
    "clean_title",
    "decode_leftover_entities",
    "first_tags",
    "fix_mojibake",
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
# An entity left over after decoding once: the title was escaped twice ("&amp;amp;"), as many CMSs do.
_LEFTOVER_ENTITY = re.compile(r"&(#\d+|#[xX][0-9a-fA-F]+|[A-Za-z][A-Za-z0-9]*);")
_ENTITY_ROUNDS = 2
# Tags html_to_text reads: a 200 KB article holds a few thousand; 400,000 nested divs took minutes.
MAX_TAGS = 5_000
_FIRST_TAGS = re.compile(rf"(?:[^<]*<){{{MAX_TAGS + 1}}}")


def html_to_text(html: str) -> str:
    """Plain text from an HTML fragment: tags gone, entities decoded, blocks on their own lines.

    Only the first MAX_TAGS tags are read: lexbor's tree builder is quadratic in nesting depth."""
    if not html:
        return ""
    if not _MARKUP.search(html):
        return _collapse(html)
    tree = LexborHTMLParser(first_tags(html))
    tree.strip_tags(_DROP_TAGS)
    for node in tree.css(_BLOCK_SELECTOR):
        node.insert_after("\n")
    root = tree.root
    return _collapse(root.text(separator="") if root is not None else "")


def first_tags(html: str) -> str:
    """`html` up to its MAX_TAGS-th tag: lexbor's tree builder is quadratic in nesting depth."""
    cut = _FIRST_TAGS.match(html)
    return html[: cut.end() - 1] if cut is not None else html


def clean_title(title: str, limit: int = MAX_TITLE_CHARS) -> str:
    """A one-line title: markup and entities (even escaped twice) decoded, mojibake repaired, controls
    and bidi controls removed, whitespace collapsed, length capped."""
    text = decode_leftover_entities(html_to_text(fix_mojibake(title)))
    return _truncate(" ".join(text.split()), limit)


def decode_leftover_entities(text: str) -> str:
    """Plain text that still spells entities ("Q&amp;A" after one decoding) decoded once or twice more."""
    for _ in range(_ENTITY_ROUNDS):
        if "&" not in text or not _LEFTOVER_ENTITY.search(text):
            break
        text = clean_untrusted(html.unescape(text))
    return text


def clean_text(html: str, limit: int = MAX_TEXT_CHARS) -> str:
    """Plain article text from summary/content HTML, capped at `limit` characters on a word boundary."""
    # Full posts run to 200 KB of HTML; a prefix almost always holds `limit` characters of text.
    prefix = html[: limit * 4]
    text = html_to_text(fix_mojibake(prefix))
    if len(text) < limit and len(prefix) < len(html):
        text = html_to_text(fix_mojibake(html))
    return _truncate(text, limit)


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
    # Entities decode to any character (&#x1b;, &#x202e;): the result is cleaned like feed text.
    text = clean_untrusted(text)
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
