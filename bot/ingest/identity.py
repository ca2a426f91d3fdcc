"""Parsed entries -> Articles, each with a per-source item key that stays the same across polls.

The key kind is chosen per feed document, as MonitoRSS does: guid when every entry has one and none
repeats, else the canonical link under the same rule, else a hash of title and date. A kind that
repeats inside one document cannot tell its entries apart, so it cannot be trusted across polls either.

An entry without a usable link (none, not http(s), or too long) is stored under `linkless_url`: an
identity of its own per source and item key, so it never folds into another article by URL, and no
renderer shows it (they link http(s) URLs only).
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Literal

from bot.ingest.clean import MAX_LINK_CHARS
from bot.ingest.feed import MAX_ENTRIES, ParsedEntry, ParsedFeed
from bot.ingest.normalise import (
    absolute_url,
    canonical_url,
    clean_text,
    clean_title,
    is_http_url,
    normalise_language,
    normalise_published,
)
from bot.ingest.parse import parse_feed
from bot.models import Article

KeyKind = Literal["guid", "link", "hash"]
# Keys longer than this are hashed, so they fit an indexed column.
MAX_KEY_CHARS = 200
_SNIPPET_TITLE_CHARS = 120


def to_articles(parsed: ParsedFeed, source_id: int, source_name: str, fetched_at: datetime) -> list[Article]:
    """One Article per usable entry (a title or a link), de-duplicated by item key, in feed order."""
    usable: list[tuple[ParsedEntry, str, str, str]] = []
    for entry in parsed.entries:
        url = entry_url(entry, parsed)
        text = clean_text(entry.content or entry.summary)
        title = clean_title(entry.title) or clean_title(text, _SNIPPET_TITLE_CHARS)
        if title or url:
            usable.append((entry, url, title, text))
    # Entries that are skipped anyway must not spoil the key kind of the others.
    kind = choose_key_kind([item[0] for item in usable], [item[1] for item in usable])
    articles: list[Article] = []
    seen: set[str] = set()
    for entry, url, title, text in usable:
        key = item_key(kind, entry, url)
        if key in seen:
            continue
        seen.add(key)
        published, _ = normalise_published(entry.published, fetched_at)
        language = normalise_language(entry.language, parsed.language, text=f"{title}\n{text[:600]}")
        articles.append(
            Article(
                url=url or linkless_url(source_id, key),
                title=title,
                text=text,
                published=published,
                source_id=source_id,
                item_key=key,
                language=language,
                source_name=source_name,
                fetched_at=fetched_at,
            )
        )
    return articles


async def parse_articles_async(
    data: bytes,
    *,
    source_id: int,
    source_name: str,
    fetched_at: datetime,
    url: str = "",
    headers: Mapping[str, str] | None = None,
    max_entries: int = MAX_ENTRIES,
) -> tuple[ParsedFeed, list[Article]]:
    """parse_feed + to_articles in one worker thread: all the CPU work of one poll, off the event loop.

    Raises FeedError like parse_feed. The ParsedFeed is returned too, for its title and `warning`.
    """

    def work() -> tuple[ParsedFeed, list[Article]]:
        parsed = parse_feed(data, url=url, headers=headers, max_entries=max_entries)
        return parsed, to_articles(parsed, source_id, source_name, fetched_at)

    return await asyncio.to_thread(work)


def entry_url(entry: ParsedEntry, parsed: ParsedFeed) -> str:
    """The entry's canonical http(s) URL, relative links resolved against the feed; "" when it has none
    (or only one too long to be an article's)."""
    link = absolute_url(entry.link, parsed.link, parsed.base_url)
    canonical = canonical_url(link) if is_http_url(link) else ""
    return canonical if len(canonical) <= MAX_LINK_CHARS else ""


def linkless_url(source_id: int, key: str) -> str:
    """The stored identity of source `source_id`'s entry `key` when it has no usable link."""
    return f"urn:storywatch:article:{source_id}:{_digest(key)}"


def choose_key_kind(entries: Sequence[ParsedEntry], links: Sequence[str]) -> KeyKind:
    """The first id kind every entry has and no two entries share."""
    if _usable([entry.guid.strip() for entry in entries]):
        return "guid"
    if _usable(list(links)):
        return "link"
    return "hash"


def item_key(kind: KeyKind, entry: ParsedEntry, url: str) -> str:
    """The item key of one entry under the document's chosen kind, e.g. "guid:tag:example.com,2024:1"."""
    makers: dict[KeyKind, Callable[[], str]] = {
        "guid": lambda: entry.guid.strip(),
        "link": lambda: url,
        "hash": lambda: _digest(
            clean_title(entry.title), entry.published.isoformat() if entry.published else ""
        ),
    }
    value = makers[kind]()
    if kind == "hash" or len(value) + len(kind) + 1 > MAX_KEY_CHARS:
        return f"{kind}#{_digest(value)}" if kind != "hash" else f"hash:{value}"
    return f"{kind}:{value}"


def _usable(values: list[str]) -> bool:
    return bool(values) and all(values) and len(set(values)) == len(values)


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()[:32]
