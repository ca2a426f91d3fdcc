"""JSON Feed 1.0/1.1 (https://jsonfeed.org/version/1.1); other JSON is refused with a clear reason.

feedparser 6.0 does not read JSON Feed, so this small reader is the only path for JSON documents.
"""

from __future__ import annotations

import json
from itertools import islice
from typing import Any

from feedparser.datetimes import _parse_date

from bot.ingest.feed import (
    MAX_ENTRIES,
    FeedError,
    ParsedEntry,
    ParsedFeed,
    escape_text,
    struct_to_datetime,
)

_VERSION_PREFIXES = ("https://jsonfeed.org/version/", "http://jsonfeed.org/version/")


def parse_json_feed(data: bytes, base_url: str = "", max_entries: int = MAX_ENTRIES) -> ParsedFeed:
    """The JSON Feed in `data` (its first `max_entries` items); FeedError for invalid JSON or JSON that
    is not a JSON Feed."""
    try:
        # Integers stay text: ids are all we read them for, and int() refuses more than 4,300 digits.
        document = json.loads(data, parse_int=str)
    except json.JSONDecodeError as exc:
        raise FeedError(f"not valid JSON at line {exc.lineno} ({exc.msg})") from None
    except UnicodeDecodeError:
        raise FeedError("not valid JSON (bytes are not UTF-8, UTF-16 or UTF-32)") from None
    except RecursionError:
        raise FeedError("not a supported feed: JSON nested too deeply", unsupported=True) from None
    except ValueError as exc:
        raise FeedError(f"not valid JSON ({str(exc)[:100]})") from None
    if not isinstance(document, dict):
        raise FeedError("JSON, but not a JSON Feed (not a supported feed)", unsupported=True)
    version = document.get("version")
    if not isinstance(version, str) or not version.startswith(_VERSION_PREFIXES):
        if isinstance(document.get("rss"), dict):
            raise FeedError(
                "JSON, but not a JSON Feed (RSS-in-JSON is not a supported feed)", unsupported=True
            )
        raise FeedError("JSON, but not a JSON Feed (not a supported feed)", unsupported=True)
    items = document.get("items")
    if not isinstance(items, list):
        raise FeedError("JSON Feed without an items list")
    feed_lang = _string(document.get("language"))
    usable = (item for item in items if isinstance(item, dict))
    entries = [_entry(item, feed_lang) for item in islice(usable, max_entries + 1)]
    capped = len(entries) > max_entries
    number = version.rsplit("/", 1)[-1].replace(".", "")
    return ParsedFeed(
        title=escape_text(_string(document.get("title"))),
        link=_string(document.get("home_page_url")),
        entries=entries[:max_entries],
        language=feed_lang,
        version=f"json{number}",
        base_url=_string(document.get("feed_url")) or base_url,
        capped=capped,
    )


def _entry(item: dict[str, Any], feed_lang: str) -> ParsedEntry:
    content = _string(item.get("content_html")) or escape_text(_string(item.get("content_text")))
    when = _parse_date(_string(item.get("date_published"))) or _parse_date(_string(item.get("date_modified")))
    return ParsedEntry(
        title=escape_text(_string(item.get("title"))),
        link=_string(item.get("url")) or _string(item.get("external_url")),
        guid=_string(item.get("id")),
        summary=escape_text(_string(item.get("summary"))),
        content=content,
        published=struct_to_datetime(when),
        language=_string(item.get("language")) or feed_lang,
    )


def _string(value: object) -> str:
    """Strings as they are, numbers as text (JSON Feed 1.0 ids may be numbers), anything else empty."""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return ""
